// Average ranks with ties (see ranks.hpp). O(n log n): one stable sort.
#include "stats/ranks.hpp"

#include <algorithm>
#include <numeric>

namespace spectra::stats {

std::vector<double> average_ranks(std::span<const double> v) {
  const size_t n = v.size();
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(n);
  size_t i = 0;
  while (i < n) {
    size_t j = i + 1;
    while (j < n && v[idx[j]] == v[idx[i]]) ++j;
    // positions i..j-1 (0-based) hold equal values: ranks i+1..j, average (i+1+j)/2
    const double avg = 0.5 * static_cast<double>(i + 1 + j);
    for (size_t k = i; k < j; ++k) rank[idx[k]] = avg;
    i = j;
  }
  return rank;
}

}  // namespace spectra::stats
