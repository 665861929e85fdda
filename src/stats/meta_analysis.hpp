#pragma once
// DerSimonian–Laird random-effects meta-analysis of Fisher z values (one per
// document), as statsmodels.stats.meta_analysis.combine_effects(z, v,
// method_re="dl"):
//   w_d = 1/v_d,  z̄ = Σw z/Σw,  Q = Σ w (z − z̄)²,
//   τ² = max(0, (Q − (k−1)) / (Σw − Σw²/Σw)),  I² = max(0, (Q − (k−1))/Q),
//   w*_d = 1/(v_d + τ²),  z* = Σw* z/Σw*,  SE = 1/√Σw*,
//   r = tanh(z*), CI = tanh(z* ± Φ⁻¹((1+c)/2)·SE), p from z*/SE (normal).
// k = 1: τ² = 0, Q = 0, I² = NaN. k = 0: everything NaN.
#include <cstddef>
#include <span>

#include "stats/p_values.hpp"

namespace spectra::stats {

struct MetaResult {
  size_t k = 0;
  double z = 0, se = 0, r = 0, ci_low = 0, ci_high = 0;
  double tau2 = 0, i2 = 0, q = 0;
  PValues p{};
  bool defined() const { return k > 0; }
};

MetaResult dersimonian_laird(std::span<const double> z, std::span<const double> v, double confidence);

}  // namespace spectra::stats
