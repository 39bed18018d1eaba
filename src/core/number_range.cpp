#include "core/number_range.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "core/error.h"
#include "core/strings.h"

namespace w2s {
namespace {

std::string show(double x) {
  std::ostringstream ss;
  ss.precision(17);
  ss << x;
  return ss.str();
}

}  // namespace

bool NumberRange::contains(double x) const {
  if (!std::isfinite(x)) return false;
  const bool above = lo_open ? x > lo : x >= lo;
  const bool below = hi_open ? x < hi : x <= hi;
  return above && below;
}

std::string NumberRange::describe() const {
  const bool has_lo = std::isfinite(lo), has_hi = std::isfinite(hi);
  if (has_lo && has_hi)
    return "in " + std::string(lo_open ? "(" : "[") + show(lo) + ", " + show(hi) + (hi_open ? ")" : "]");
  if (has_lo) return (lo_open ? "> " : ">= ") + show(lo);
  if (has_hi) return (hi_open ? "< " : "<= ") + show(hi);
  return "finite";
}

std::string number_problem(double x, const NumberRange& r) {
  if (r.contains(x)) return "";
  const std::string range = r.describe();
  if (range == "finite") return "must be a finite number, got " + show(x);
  return "must be " + range + (std::isfinite(x) ? "" : " (a finite number)") + ", got " + show(x);
}

std::string integer_problem(int64_t x, const NumberRange& r) {
  if (r.contains(static_cast<double>(x))) return "";
  return "must be " + r.describe() + ", got " + std::to_string(x);
}

void require_number(const std::string& what, double x, const NumberRange& r) {
  std::string problem = number_problem(x, r);
  if (!problem.empty()) throw UsageError(what + " " + problem);
}

void require_integer(const std::string& what, int64_t x, const NumberRange& r) {
  std::string problem = integer_problem(x, r);
  if (!problem.empty()) throw UsageError(what + " " + problem);
}

double parse_checked_number(const std::string& what, const std::string& text, const NumberRange& r) {
  const std::string t = trim(text);
  char* end = nullptr;
  errno = 0;
  const double x = t.empty() ? 0.0 : std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size())
    throw UsageError(what + " expects a number, got '" + text + "'");
  if (errno == ERANGE && std::isinf(x)) throw UsageError(what + " " + number_problem(x, r));
  require_number(what, x, r);
  return x;
}

int64_t parse_checked_integer(const std::string& what, const std::string& text, const NumberRange& r) {
  const std::string t = trim(text);
  char* end = nullptr;
  errno = 0;
  const long long x = t.empty() ? 0 : std::strtoll(t.c_str(), &end, 10);
  if (t.empty() || end != t.c_str() + t.size())
    throw UsageError(what + " expects a whole number, got '" + text + "'");
  if (errno == ERANGE) throw UsageError(what + " is out of range, got '" + text + "'");
  require_integer(what, static_cast<int64_t>(x), r);
  return static_cast<int64_t>(x);
}

}  // namespace w2s
