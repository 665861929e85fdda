#pragma once
// Ranks for Spearman's rho: 1-based, ties get the average of the ranks they
// span (scipy.stats.rankdata(method='average')). Inputs must not contain NaN.
#include <span>
#include <vector>

namespace spectra::stats {

std::vector<double> average_ranks(std::span<const double> v);

}  // namespace spectra::stats
