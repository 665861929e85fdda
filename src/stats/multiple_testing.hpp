#pragma once
// Multiple-comparison adjustments across all heads.
//
// Benjamini–Hochberg: sort the m p-values ascending, p_(1) ≤ … ≤ p_(m);
//   p̃_(i) = min_{j ≥ i} min(1, m·p_(j)/j).
// Benjamini–Yekutieli: the same with m replaced by m·c(m), c(m) = Σ_{k=1..m} 1/k.
// Bonferroni: threshold alpha/m (and adjusted p = min(1, m·p)).
// These equal statsmodels multipletests(method='fdr_bh' / 'fdr_by' /
// 'bonferroni') and scipy.stats.false_discovery_control(method='bh' / 'by').
//
// NaN p-values (undefined statistics) are left out: m counts only the finite
// p-values, and a NaN p stays NaN after adjustment.
#include <span>
#include <vector>

namespace spectra::stats {

std::vector<double> adjust_bh(std::span<const double> p);
std::vector<double> adjust_by(std::span<const double> p);
std::vector<double> adjust_bonferroni(std::span<const double> p);
// Number of finite p-values (the m of every adjustment above).
size_t count_tests(std::span<const double> p);

}  // namespace spectra::stats
