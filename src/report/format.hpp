#pragma once
// Number formatting shared by figures and reports: fixed, locale-free,
// deterministic; NaN prints as "n/a".
#include <cstdint>
#include <string>

namespace spectra::report {

std::string fixed(double x, int decimals);        // "0.123", "n/a"
std::string signed_fixed(double x, int decimals); // "+0.123", "−" as ASCII '-'
std::string pvalue(double p);                     // "3.2e-05", "< 1e-300", "0.042"
std::string percent(double fraction, int decimals = 0);
std::string thousands(int64_t n);                 // "1,234,567"
std::string head_label(int layer, int head);      // "L12 H3"
std::string json_number(double x, int significant);  // for inline JSON data: "null" for NaN

}  // namespace spectra::report
