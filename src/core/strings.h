// Small string helpers shared by logging, file naming and config parsing.
#pragma once
#include <cstdarg>
#include <string>
#include <vector>

namespace w2s {

// printf-style formatting into a std::string.
std::string strfmt(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

std::vector<std::string> split(const std::string& s, char sep);
std::string trim(const std::string& s);
bool starts_with(const std::string& s, const std::string& prefix);
bool ends_with(const std::string& s, const std::string& suffix);
std::string join(const std::vector<std::string>& parts, const std::string& sep);

// "1.2K", "3.4M": human-readable counts for progress lines.
std::string human_count(double x);
// "1h02m", "3m05s", "12s".
std::string human_duration(double seconds);

// Boost 1.74 formats its error messages by replacing "%name%" placeholders in a loop that never
// ends when the substituted value itself holds the placeholder ("--steps %value%" hung w2s
// forever; found by tests/fuzz/fuzz_config). Command lines and ini text go through this before
// Boost sees them: throws UsageError naming `where` if `text` holds such a token.
void refuse_boost_placeholders(const std::string& text, const std::string& where);

}  // namespace w2s
