// Distributions: query norm and entropy (overall, and per layer as small
// multiples on a shared x range), and the per-head r against the
// shuffled and circular-shift nulls.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "report/figures.hpp"
#include "report/format.hpp"

namespace spectra::report {

namespace {

std::string hist_data(const Histogram1D& h) {
  std::ostringstream o;
  const double w = h.bin_width();
  for (size_t i = 0; i < h.counts.size(); ++i) o << json_number(h.lo + (i + 0.5) * w, 7) << ' ' << h.counts[i] << '\n';
  return o.str();
}

const char* kQLabel = "query norm ‖q‖₂ (activation units)";
const char* kHLabel = "attention entropy H (nats)";

FigureInfo small_multiples(Gnuplot& gp, const TupleDigest& d, bool entropy) {
  const int L = d.n_layers;
  const int cols = L <= 4 ? L : (L <= 16 ? 4 : 6);
  const int rows = (L + cols - 1) / cols;
  GnuplotFigure f;
  f.name = entropy ? "hist_entropy_by_layer" : "hist_qnorm_by_layer";
  f.width = 1100;
  f.height = 110 + rows * 170;
  const double bottom = 45.0 / f.height, top = 1.0 - 65.0 / f.height;
  std::ostringstream sc;
  const auto& hs = entropy ? d.h_layer : d.q_layer;
  for (int l = 0; l < L; ++l) f.data.push_back({"layer" + std::to_string(l) + ".dat", hist_data(hs[l])});
  sc << "set multiplot layout " << rows << "," << cols << " title "
     << gp_str(std::string(entropy ? "Attention entropy H (nats)" : "Query norm ‖q‖₂") +
               " by layer — x shared across panels, y = rows per bin") << " font ',12' margins 0.04,0.98," << bottom << "," << top << " spacing 0.025," << 30.0 / f.height << "\n";
  sc << "set style fill solid 0.85 noborder\nunset key\nset tics out nomirror font ',8'\nset format y ''\n";
  sc << "set xrange [" << hs[0].lo << ":" << hs[0].hi << "]\nset yrange [0:*]\nset offsets 0,0,graph 0.25,0\n";
  for (int l = 0; l < L; ++l) {
    sc << "set label 1 'layer " << l << "' at graph 0.04, graph 0.88 left font ',10' front\n";
    sc << "plot 'layer" << l << ".dat' using 1:2 with boxes lc rgb '" << (entropy ? "#b2182b" : "#2166ac") << "'\n";
  }
  sc << "unset multiplot\n";
  f.script = sc.str();
  gp.render(f);
  return {f.name, std::string(entropy ? "Entropy" : "Query norm") + " distribution by layer",
          std::string("Histogram of ") + (entropy ? "attention entropy" : "‖q‖") +
              " for each layer (all heads, positions ≥ min position), on one shared x range."};
}

}  // namespace

std::vector<FigureInfo> figure_histograms(Gnuplot& gp, const RunFolder& run, const TupleDigest& d) {
  std::vector<FigureInfo> out;
  {
    GnuplotFigure f;
    f.name = "hist_qnorm_entropy";
    f.width = 1100;
    f.height = 420;
    f.data = {{"q.dat", hist_data(d.q_all)}, {"h.dat", hist_data(d.h_all)}};
    std::ostringstream sc;
    sc << "set multiplot layout 1,2 title " << gp_str("All heads and layers: " + thousands(static_cast<int64_t>(d.n_rows)) +
                                                     " rows (positions ≥ " + std::to_string(run.min_pos) + ")")
       << " font ',12'\n";
    sc << "set style fill solid 0.85 noborder\nunset key\nset tics out nomirror\nset yrange [0:*]\nset format y '%.1s%c'\n";
    sc << "set ylabel 'rows per bin'\n";
    sc << "set xlabel " << gp_str(kQLabel) << "\nset xrange [" << d.q_all.lo << ":" << d.q_all.hi << "]\n";
    sc << "set title 'query norm'\nplot 'q.dat' using 1:2 with boxes lc rgb '#2166ac'\n";
    sc << "set xlabel " << gp_str(kHLabel) << "\nset xrange [" << d.h_all.lo << ":" << d.h_all.hi << "]\n";
    sc << "set title 'attention entropy'\nplot 'h.dat' using 1:2 with boxes lc rgb '#b2182b'\n";
    sc << "unset multiplot\n";
    f.script = sc.str();
    gp.render(f);
    out.push_back({f.name, "Query norm and entropy distributions",
                   "Histograms of ‖q‖ and of attention entropy over all heads, layers and documents."});
  }
  out.push_back(small_multiples(gp, d, false));
  out.push_back(small_multiples(gp, d, true));
  return out;
}

FigureInfo figure_nulls(Gnuplot& gp, const RunFolder& run) {
  // Left: histogram of observed r and circular-shift r across heads.
  // Right: each head's |r| against its shuffled-null 95th percentile |r|.
  const int bins = 40;
  std::vector<int64_t> obs(bins, 0), circ(bins, 0);
  auto bin = [&](double r) { return std::clamp(static_cast<int>((r + 1.0) / 2.0 * bins), 0, bins - 1); };
  std::ostringstream pts;
  double max_null = 0, max_abs = 0;
  int above = 0, finite = 0;
  for (const auto& h : run.heads) {
    if (std::isfinite(h.r)) ++obs[bin(h.r)];
    if (std::isfinite(h.circular_r)) ++circ[bin(h.circular_r)];
    if (std::isfinite(h.r) && std::isfinite(h.shuffle_p95_abs_r)) {
      const double c95 = std::isfinite(h.circular_p95_abs_r) ? h.circular_p95_abs_r : NAN;
      pts << json_number(h.shuffle_p95_abs_r, 6) << ' ' << json_number(std::fabs(h.r), 6) << ' ' << (h.passes ? 1 : 0)
          << ' ' << json_number(c95, 6) << '\n';
      max_null = std::max({max_null, h.shuffle_p95_abs_r, std::isfinite(c95) ? c95 : 0.0});
      max_abs = std::max(max_abs, std::fabs(h.r));
      ++finite;
      if (std::fabs(h.r) > h.shuffle_p95_abs_r && !(std::fabs(h.r) <= c95)) ++above;
    }
  }
  if (finite == 0) pts << "NaN NaN 0 NaN\n";
  std::ostringstream hist;
  for (int i = 0; i < bins; ++i) hist << json_number(-1.0 + (i + 0.5) * 2.0 / bins, 6) << ' ' << obs[i] << ' ' << circ[i] << '\n';
  GnuplotFigure f;
  f.name = "null_distributions";
  f.width = 1100;
  f.height = 460;
  f.data = {{"hist.dat", hist.str()}, {"pts.dat", pts.str()}};
  std::ostringstream sc;
  sc << "set multiplot layout 1,2 title 'Per-head r against the null controls' font ',12'\n";
  sc << "set tics out nomirror\nset key top left box opaque font ',9'\n";
  sc << "set title 'observed r vs circular-shift null (all heads)'\nset xlabel 'Pearson r (per head)'\nset ylabel 'heads'\n";
  sc << "set xrange [-1:1]\nset yrange [0:*]\nset style fill transparent solid 0.55 noborder\nset boxwidth " << 2.0 / bins * 0.95 << "\n";
  sc << "plot 'hist.dat' using 1:3 with boxes lc rgb '#969696' title 'circular-shift r', "
        "'' using 1:2 with boxes lc rgb '#2166ac' title 'observed r'\n";
  const double lim = std::max(0.05, std::min(1.0, 1.1 * std::max(max_null, max_abs)));
  sc << "set title " << gp_str("|r| vs the nulls' 95th percentiles: " + std::to_string(above) + " of " +
                               std::to_string(finite) + " heads above both") << "\n";
  sc << "set xlabel '95th percentile of |r| under the null'\nset ylabel 'observed |r|'\n";
  sc << "set xrange [0:" << lim << "]\nset yrange [0:" << lim << "]\nset size ratio -1\nset key top right\n";
  sc << "plot x with lines dt 2 lc rgb 'black' title '|r| = null 95th pct', "
        "'pts.dat' using 4:2 with points pt 8 ps 0.6 lc rgb '#969696' title 'head vs circular-shift null', "
        "'pts.dat' using 1:($3==0?$2:NaN) with points pt 7 ps 0.6 lc rgb '#4393c3' title 'head vs shuffle null', "
        "'pts.dat' using 1:($3==1?$2:NaN) with points pt 6 ps 1.0 lw 1.5 lc rgb '#b2182b' title 'passes criteria'\n";
  sc << "unset multiplot\n";
  f.script = sc.str();
  gp.render(f);
  return {f.name, "Null controls",
          "Left: distribution over heads of the observed r and of r after a circular shift of ‖q‖ against "
          "entropy (keeps each series' autocorrelation, breaks their alignment). Right: each head's |r| against the 95th percentile "
          "of |r| under shuffling; points above the diagonal exceed the shuffled null."};
}

}  // namespace spectra::report
