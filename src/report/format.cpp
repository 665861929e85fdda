// Deterministic number formatting (see format.hpp).
#include "report/format.hpp"

#include <cmath>
#include <cstdio>

namespace spectra::report {

std::string fixed(double x, int decimals) {
  if (!std::isfinite(x)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  std::string s = buf;
  if (s.rfind("-0.", 0) == 0 && s.find_first_not_of("-0.") == std::string::npos) s = s.substr(1);  // no "-0.000"
  return s;
}

std::string signed_fixed(double x, int decimals) {
  std::string s = fixed(x, decimals);
  if (std::isfinite(x) && s[0] != '-') s = "+" + s;
  return s;
}

std::string pvalue(double p) {
  if (!std::isfinite(p)) return "n/a";
  if (p <= 0) return "< 1e-300";
  char buf[64];
  if (p >= 0.001) std::snprintf(buf, sizeof buf, "%.3f", p);
  else std::snprintf(buf, sizeof buf, "%.1e", p);
  return buf;
}

std::string percent(double fraction, int decimals) {
  if (!std::isfinite(fraction)) return "n/a";
  return fixed(100.0 * fraction, decimals) + "%";
}

std::string thousands(int64_t n) {
  std::string s = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return (n < 0 ? "-" : "") + out;
}

std::string head_label(int layer, int head) { return "L" + std::to_string(layer) + " H" + std::to_string(head); }

std::string json_number(double x, int significant) {
  if (!std::isfinite(x)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", significant, x);
  return buf;
}

}  // namespace spectra::report
