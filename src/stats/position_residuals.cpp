// Position basis, residuals and effective n; see position_residuals.hpp.
#include "stats/position_residuals.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace spectra::stats {

std::vector<double> position_basis(std::span<const int32_t> pos, int knots) {
  const size_t n = pos.size(), p = static_cast<size_t>(knots) + 1;
  std::vector<double> X(n * p, 0.0);
  if (n == 0) return X;
  const double t0 = pos.front(), t1 = pos.back();
  const double span = t1 > t0 ? t1 - t0 : 1.0;
  const int K = knots;
  auto xi = [&](int k) { return static_cast<double>(k - 1) / static_cast<double>(K - 1); };  // k = 1..K
  auto cube = [](double v) { return v > 0 ? v * v * v : 0.0; };
  auto d = [&](int k, double s) { return (cube(s - xi(k)) - cube(s - xi(K))) / (xi(K) - xi(k)); };
  for (size_t i = 0; i < n; ++i) {
    const double s = (pos[i] - t0) / span;
    X[0 * n + i] = 1.0;
    X[1 * n + i] = std::log(static_cast<double>(pos[i]) + 1.0);
    X[2 * n + i] = s;
    const double dlast = d(K - 1, s);
    for (int k = 1; k <= K - 2; ++k) X[(2 + k) * n + i] = d(k, s) - dlast;
  }
  return X;
}

void residualize(std::span<const int32_t> pos, int knots, std::span<std::vector<double>*> ys) {
  const size_t n = pos.size(), p = static_cast<size_t>(knots) + 1;
  std::vector<double> X = position_basis(pos, knots);
  // Householder QR, column by column; each reflection H = I − 2vvᵀ/(vᵀv) is
  // applied to the remaining columns and to every y (giving Qᵀy). Columns
  // numerically dependent on the earlier ones are skipped. The residual is
  // Q·[0; (Qᵀy)_{r+1..n}]: zero the first r entries, undo the reflections.
  struct Reflector {
    size_t row;
    std::vector<double> v;
    long double vv;
  };
  std::vector<Reflector> refl;
  auto apply = [&](const Reflector& h, double* a) {
    long double dot = 0;
    for (size_t i = h.row; i < n; ++i) dot += static_cast<long double>(h.v[i]) * a[i];
    const double f = static_cast<double>(2.0L * dot / h.vv);
    for (size_t i = h.row; i < n; ++i) a[i] -= f * h.v[i];
  };
  size_t row = 0;
  for (size_t j = 0; j < p && row < n; ++j) {
    double* c = X.data() + j * n;
    long double full = 0, norm2 = 0;
    for (size_t i = 0; i < n; ++i) full += static_cast<long double>(c[i]) * c[i];
    for (size_t i = row; i < n; ++i) norm2 += static_cast<long double>(c[i]) * c[i];
    if (full == 0 || !(norm2 > 1e-20L * full)) continue;  // dependent on earlier columns
    const double norm = static_cast<double>(std::sqrt(norm2));
    Reflector h{row, std::vector<double>(n, 0.0), 0};
    for (size_t i = row; i < n; ++i) h.v[i] = c[i];
    h.v[row] += c[row] > 0 ? norm : -norm;
    for (size_t i = row; i < n; ++i) h.vv += static_cast<long double>(h.v[i]) * h.v[i];
    if (!(h.vv > 0)) continue;
    for (size_t jj = j; jj < p; ++jj) apply(h, X.data() + jj * n);
    for (auto* y : ys) apply(h, y->data());
    refl.push_back(std::move(h));
    ++row;
  }
  for (auto* y : ys) {
    std::fill(y->begin(), y->begin() + static_cast<std::ptrdiff_t>(row), 0.0);
    for (auto it = refl.rbegin(); it != refl.rend(); ++it) apply(*it, y->data());
  }
}

bool residual_is_flat(std::span<const double> e, std::span<const double> y) {
  long double ss = 0, raw = 0;
  for (double v : e) ss += static_cast<long double>(v) * v;
  for (double v : y) raw += static_cast<long double>(v) * v;
  return !(ss > 1e-12L * raw);
}

double lag1_autocorrelation(std::span<const double> e) {
  long double num = 0, den = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    den += static_cast<long double>(e[i]) * e[i];
    if (i > 0) num += static_cast<long double>(e[i]) * e[i - 1];
  }
  return den > 0 ? static_cast<double>(num / den) : std::numeric_limits<double>::quiet_NaN();
}

double effective_n(size_t n, double rho_x, double rho_y) {
  const double rr = rho_x * rho_y;
  const double ne = static_cast<double>(n) * (1.0 - rr) / (1.0 + rr);
  return std::min(static_cast<double>(n), ne);
}

}  // namespace spectra::stats
