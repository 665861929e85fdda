#pragma once
// Position control inside one document: least-squares residuals of a series
// on a position basis, and the effective sample size of a correlation of two
// autocorrelated residual series.
//
// Position basis for the positions t_1 < … < t_n of one document (knots K ≥ 4):
//   1, log(t+1), and a natural cubic spline in s = (t − t_min)/(t_max − t_min)
//   with K knots ξ_k = (k−1)/(K−1) (equally spaced over the document's
//   analysed positions), in the truncated-power form of Hastie, Tibshirani &
//   Friedman (ESL eq. 5.4–5.5): s, and for k = 1..K−2
//   N_k(s) = d_k(s) − d_{K−1}(s),  d_k(s) = ((s−ξ_k)₊³ − (s−ξ_K)₊³)/(ξ_K − ξ_k).
//   That is K + 1 columns. Residuals are the least-squares residuals
//   (Householder QR; a column that is numerically dependent on the earlier
//   ones is dropped, which leaves the projection unchanged).
//
// A residual series is "flat" (no variation beyond position; its correlation
// is undefined) when its residual sum of squares is ≤ 1e-12 · Σ y².
//
// Effective n (the AR(1) form of the Bartlett / Bayley–Hammersley correction
// for a correlation of two autocorrelated series, NOTES.md):
//   ρ_x = Σ_{i≥2} e_i e_{i−1} / Σ e_i² (lag-1 autocorrelation of the residuals,
//   lag taken in row order, i.e. by position), the same for y, and
//   n_eff = n · (1 − ρ_x ρ_y) / (1 + ρ_x ρ_y), capped at n.
#include <cstdint>
#include <span>
#include <vector>

namespace spectra::stats {

// The basis matrix, column-major (n × (K+1)).
std::vector<double> position_basis(std::span<const int32_t> pos, int knots);

// Projects the series ys (each of length n) off the basis of pos: ys[j] is
// replaced by its residuals.
void residualize(std::span<const int32_t> pos, int knots, std::span<std::vector<double>*> ys);

// True when the residuals e of y carry no variation beyond position.
bool residual_is_flat(std::span<const double> e, std::span<const double> y);

double lag1_autocorrelation(std::span<const double> e);

double effective_n(size_t n, double rho_x, double rho_y);

}  // namespace spectra::stats
