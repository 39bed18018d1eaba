// The one place numeric settings are checked, shared by command-line options (cli/options.h)
// and experiment-file keys (experiment/experiment_config.cpp): a range with open or closed
// ends, always finite. NaN compares false with everything, so a check written as "x < 0 is an
// error" lets NaN through; these checks are written as "x must lie inside", which refuses it.
#pragma once
#include <cstdint>
#include <limits>
#include <string>

namespace w2s {

struct NumberRange {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;

  static NumberRange positive() { return {0.0, kInf, true, false}; }             // > 0
  static NumberRange non_negative() { return {0.0, kInf, false, false}; }        // >= 0
  static NumberRange at_least(double lo) { return {lo, kInf, false, false}; }    // >= lo
  static NumberRange closed(double lo, double hi) { return {lo, hi, false, false}; }  // [lo, hi]
  static NumberRange half_open(double lo, double hi) { return {lo, hi, false, true}; }  // [lo, hi)
  static NumberRange open_closed(double lo, double hi) { return {lo, hi, true, false}; }  // (lo, hi]
  static NumberRange any_finite() { return {}; }

  bool contains(double x) const;
  std::string describe() const;  // "> 0", ">= 1", "in [0, 1)", "finite"

  static constexpr double kInf = std::numeric_limits<double>::infinity();
};

// "" when x is finite and inside r, else the reason: "must be > 0, got nan".
std::string number_problem(double x, const NumberRange& r);
// Integer settings: inside r (and in the target type's range, checked by the caller's parse).
std::string integer_problem(int64_t x, const NumberRange& r);

// Throws UsageError("<what> must be ..., got ...") when x is non-finite or outside r.
void require_number(const std::string& what, double x, const NumberRange& r);
void require_integer(const std::string& what, int64_t x, const NumberRange& r);

// Parses the whole of `text` as a number (decimal or exponent form; "nan", "inf" parse and are
// then refused by the range), for callers that read text themselves. Throws UsageError naming
// `what` when the text is not a number, not an integer (integer = true), or out of range.
double parse_checked_number(const std::string& what, const std::string& text, const NumberRange& r);
int64_t parse_checked_integer(const std::string& what, const std::string& text, const NumberRange& r);

}  // namespace w2s
