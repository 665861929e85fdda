// `spectra inspect --figures DIR`: CSV tables and figures of the projection
// weights (see weight_norms.hpp): one layers × heads heatmap of per-head
// Frobenius norms per kind, and the value histograms of the four kinds.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "dissect/weight_norms.hpp"
#include "report/gnuplot.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace spectra::dissect {

namespace {

using report::gp_str;

std::string g(double v, int prec = 7) {
  if (!std::isfinite(v)) return "NaN";
  char b[40];
  std::snprintf(b, sizeof b, "%.*g", prec, v);
  return b;
}

std::string lower_name(ProjKind k) {
  switch (k) {
    case ProjKind::Q: return "q";
    case ProjKind::K: return "k";
    case ProjKind::V: return "v";
    case ProjKind::O: return "o";
  }
  return "?";
}

// Text for an enhanced-mode gnuplot string: the markup characters escaped.
std::string enh(const std::string& text) {
  std::string o;
  for (char c : text) {
    if (c == '_' || c == '^' || c == '@' || c == '&' || c == '~' || c == '{' || c == '}' || c == '\\') o += '\\';
    o += c;
  }
  return o;
}

// The model's name and format, escaped for enhanced text.
std::string model_label(const WeightNorms& wn) {
  std::string s = wn.model_name.empty() ? "model" : wn.model_name;
  if (!wn.format.empty()) s += " (" + wn.format + ")";
  return enh(s);
}

std::string norm_heatmap(report::Gnuplot& gp, const WeightNorms& wn, ProjKind pk) {
  const int L = wn.n_layers, H = wn.heads(pk);
  std::ostringstream cells;
  double lo = INFINITY, hi = -INFINITY;
  for (int l = 0; l < L; ++l) {
    for (int h = 0; h < H; ++h) {
      const double v = wn.norm(pk, l, h);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      cells << h << ' ' << l << ' ' << g(v) << '\n';
    }
    cells << '\n';
  }
  if (!(hi > lo)) hi = lo + 1e-6;
  report::GnuplotFigure f;
  f.name = "weight_norms_" + lower_name(pk);
  f.width = 900;
  const double plot_w = 0.68 * f.width;
  const double cell_h = std::clamp(plot_w / std::max(1, H), 12.0, 640.0 / std::max(1, L));
  f.height = std::max(360, static_cast<int>(std::lround(cell_h * L / 0.74)));
  f.data = {{"cells.dat", cells.str()}};
  const bool kv = pk == ProjKind::K || pk == ProjKind::V;
  const std::string slice = pk == ProjKind::O ? "columns h·d … (h+1)·d − 1 of W_O"
                                              : "rows h·d … (h+1)·d − 1 of " + std::string(to_string(pk));
  std::ostringstream s;
  s << "set lmargin at screen 0.10\nset rmargin at screen 0.78\nset bmargin at screen 0.12\nset tmargin at screen 0.86\n";
  s << "set palette defined (0 '#fff5eb', 0.25 '#fdbe85', 0.5 '#fd8d3c', 0.75 '#d94701', 1 '#7f2704')\n";
  s << "set cbrange [" << g(lo) << ":" << g(hi) << "]\nset cblabel 'Frobenius norm ‖W_h‖_F'\n";
  s << "set colorbox user origin screen 0.82, screen 0.12 size screen 0.03, screen 0.74\n";
  s << "set xrange [-0.5:" << H - 0.5 << "]\nset yrange [-0.5:" << L - 0.5 << "]\n";
  s << "set xtics 0," << std::max(1, (H + 15) / 16) << " out nomirror\nset ytics 0," << std::max(1, (L + 15) / 16)
    << " out nomirror\n";
  s << "set xlabel " << gp_str(kv ? "KV head" : "query head") << "\nset ylabel 'layer'\n";
  s << "set title "
    << gp_str("Per-head Frobenius norm of " + enh(to_string(pk)) + ", " + model_label(wn) + "\n{/*0.8 " +
              enh(slice) + ", d = " + std::to_string(wn.head_dim) + "; stored as " + enh(wn.dtype[static_cast<int>(pk)]) +
              (kv && wn.n_kv_heads != wn.n_heads ? "; GQA: one KV head serves " +
                                                       std::to_string(wn.n_heads / wn.n_kv_heads) + " query heads"
                                                 : "") +
              "}")
    << '\n';
  s << "plot 'cells.dat' using 1:2:3 with image notitle\n";
  f.script = s.str();
  gp.render(f);
  return f.name;
}

std::string histograms(report::Gnuplot& gp, const WeightNorms& wn) {
  report::GnuplotFigure f;
  f.name = "weight_histograms";
  f.width = 1100;
  f.height = 820;
  std::ostringstream s;
  s << "set multiplot layout 2,2 margins screen 0.08, screen 0.98, screen 0.08, screen 0.88 spacing screen 0.08, "
       "screen 0.12 title "
    << gp_str("Weight values of the attention projections, all layers, " + model_label(wn)) << " font ',13'\n";
  s << "set logscale y\nset format y '10^{%T}'\nset key off\nset style fill solid 0.85 noborder\n";
  s << "set xlabel 'weight value'\nset ylabel 'count'\nset grid ytics lc rgb '#dddddd'\n";
  for (ProjKind pk : kProjKinds) {
    const WeightHistogram& hg = wn.hist[static_cast<int>(pk)];
    const int bins = static_cast<int>(hg.counts.size());
    const double w = (hg.hi - hg.lo) / std::max(1, bins);
    std::ostringstream d;
    uint64_t cmax = 1;
    for (int b = 0; b < bins; ++b) {
      d << g(hg.lo + (b + 0.5) * w) << ' ' << hg.counts[b] << '\n';
      cmax = std::max(cmax, hg.counts[b]);
    }
    const std::string file = "hist_" + lower_name(pk) + ".dat";
    f.data.push_back({file, d.str()});
    std::string out;
    if (hg.below + hg.above)
      out = "\n" + std::to_string(hg.below + hg.above) + " values outside the range shown";
    s << "set title " << gp_str(std::string(to_string(pk)) + "  (" + wn.dtype[static_cast<int>(pk)] + ")") << " noenhanced\n";
    s << "set label 1 "
      << gp_str("n = " + std::to_string(hg.n) + "\nmean = " + g(hg.mean, 3) + "\nsd = " + g(hg.sd, 3) +
                "\nmin = " + g(hg.min, 3) + "\nmax = " + g(hg.max, 3) + out)
      << " at graph 0.03, graph 0.95 left front font ',8' noenhanced\n";
    s << "set xrange [" << g(hg.lo) << ":" << g(hg.hi) << "]\nset yrange [0.8:" << g(cmax * 3000.0) << "]\n";
    s << "set boxwidth " << g(w) << " absolute\n";
    s << "plot '" << file << "' using 1:($2 > 0 ? $2 : NaN) with boxes lc rgb '#2171b5'\n";
  }
  s << "unset multiplot\n";
  f.script = s.str();
  gp.render(f);
  return f.name;
}

}  // namespace

std::vector<std::string> write_weight_figures(const WeightNorms& wn, const std::string& dir, const std::string& gnuplot) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail_file(dir, "cannot create the figures folder: " + ec.message());
  {
    AtomicFile f((fs::path(dir) / "weight_norms.csv").string());
    auto& o = f.stream();
    o << "kind,layer,head,frobenius\n";
    for (ProjKind pk : kProjKinds)
      for (int l = 0; l < wn.n_layers; ++l)
        for (int h = 0; h < wn.heads(pk); ++h)
          o << lower_name(pk) << ',' << l << ',' << h << ',' << g(wn.norm(pk, l, h), 9) << '\n';
    f.commit();
  }
  {
    AtomicFile f((fs::path(dir) / "weight_histograms.csv").string());
    auto& o = f.stream();
    o << "kind,bin_lo,bin_hi,count\n";
    for (ProjKind pk : kProjKinds) {
      const WeightHistogram& hg = wn.hist[static_cast<int>(pk)];
      const int bins = static_cast<int>(hg.counts.size());
      const double w = (hg.hi - hg.lo) / std::max(1, bins);
      o << lower_name(pk) << ",-inf," << g(hg.lo, 9) << ',' << hg.below << '\n';
      for (int b = 0; b < bins; ++b)
        o << lower_name(pk) << ',' << g(hg.lo + b * w, 9) << ',' << g(hg.lo + (b + 1) * w, 9) << ',' << hg.counts[b]
          << '\n';
      o << lower_name(pk) << ',' << g(hg.hi, 9) << ",inf," << hg.above << '\n';
    }
    f.commit();
  }
  report::Gnuplot gp(gnuplot, dir);
  std::vector<std::string> figs;
  for (ProjKind pk : kProjKinds) figs.push_back(norm_heatmap(gp, wn, pk));
  figs.push_back(histograms(gp, wn));
  return figs;
}

}  // namespace spectra::dissect
