// Issue #14 figures: layers × heads heatmap of the fraction of the ‖q‖–H
// association through the norm channel; for the strongest heads, H and H_fix
// against ‖q‖; held-out budget coverage at equal mean budget per layer.
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <sstream>

#include "observers/tuple_file.hpp"
#include "report/figures.hpp"
#include "report/format.hpp"

namespace spectra::report {

std::vector<FigureInfo> figure_mechanism(Gnuplot& gp, const RunFolder& run, const std::string& tuple_path,
                                         int scatter_heads) {
  std::vector<FigureInfo> out;
  bool measured = false;
  for (const auto& m : run.mechanism) measured = measured || m.n > 0;
  if (!measured) return out;
  // Heatmap of the fraction.
  {
    const int L = run.n_layers, H = run.n_heads;
    std::map<std::pair<int, int>, const MechanismHead*> at;
    for (const auto& m : run.mechanism) at[{m.layer, m.head}] = &m;
    std::ostringstream cells;
    int defined = 0;
    for (int l = 0; l < L; ++l) {
      for (int h = 0; h < H; ++h) {
        auto it = at.find({l, h});
        // A sign reversal (norm_dominant without a fraction) is beyond 1: drawn as 1.
        double v = it != at.end() ? it->second->fraction : NAN;
        if (it != at.end() && !std::isfinite(v) && it->second->norm_dominant > 0.5) v = 1.0;
        defined += std::isfinite(v);
        cells << h << ' ' << l << ' ' << (std::isfinite(v) ? fixed(std::clamp(v, 0.0, 1.0), 4) : "NaN") << '\n';
      }
      cells << '\n';
    }
    GnuplotFigure f;
    f.name = "heatmap_norm_fraction";
    f.width = HeatmapLayout::width();
    f.height = HeatmapLayout::height(L, H);
    f.data = {{"cells.dat", cells.str()}};
    std::ostringstream s;
    s << "set lmargin at screen " << HeatmapLayout::left << "\nset rmargin at screen " << HeatmapLayout::right
      << "\nset bmargin at screen " << HeatmapLayout::bottom << "\nset tmargin at screen " << HeatmapLayout::top
      << '\n';
    s << "set palette defined (0 '#f7fcf5', 0.25 '#c7e9c0', 0.5 '#74c476', 0.75 '#238b45', 1 '#00441b')\n";
    s << "set cbrange [0:1]\nset cbtics 0,0.25,1\nset cblabel " << gp_str("fraction 1 − r_{fix}/r (clipped to 0..1)")
      << '\n';
    s << "set colorbox user origin screen 0.84, screen " << HeatmapLayout::bottom << " size screen 0.03, screen "
      << (HeatmapLayout::top - HeatmapLayout::bottom) << '\n';
    s << "set xrange [-0.5:" << H - 0.5 << "]\nset yrange [-0.5:" << L - 0.5 << "]\n";
    s << "set xtics 0," << std::max(1, (H + 15) / 16) << " out nomirror\nset ytics 0," << std::max(1, (L + 15) / 16)
      << " out nomirror\n";
    s << "set xlabel 'query head'\nset ylabel 'layer'\nset object 1 rectangle from graph 0,0 to graph 1,1 behind "
         "fillcolor rgb '#bdbdbd' fs solid noborder\n";
    s << "set title "
      << gp_str("Fraction of the within-document ‖q‖–H association through the norm channel\n{/*0.8 " +
                std::to_string(defined) + " heads drawn; grey = |r| < 0.05 or not measured}")
      << '\n';
    s << "plot 'cells.dat' using 1:2:3 with image notitle\n";
    f.script = s.str();
    gp.render(f);
    out.push_back(
        {f.name, "Norm-channel fraction, layers × heads",
         "1 − r_fix/r per head: r is the pooled within-document, position-controlled r(‖q‖, H), r_fix the "
         "same with H_fix (the entropy at the head's reference norm). Dark: the association disappears "
         "when the norm is held fixed (norm/temperature channel); light: it survives (the direction of q "
         "co-varies with its norm). Heads where r_fix has the opposite sign of r (fraction above 1) are drawn as 1, "
         "negative fractions as 0. Grey: |r| < 0.05 or not measured."});
  }
  // Scatters of H and H_fix against ‖q‖ for the strongest heads.
  {
    std::vector<const MechanismHead*> v;
    for (const auto& m : run.mechanism)
      if (std::isfinite(m.r) && m.n > 0) v.push_back(&m);
    std::stable_sort(v.begin(), v.end(), [](auto* a, auto* b) { return std::fabs(a->r) > std::fabs(b->r); });
    if (v.size() > static_cast<size_t>(scatter_heads)) v.resize(static_cast<size_t>(scatter_heads));
    if (!v.empty()) {
      TupleReader reader(tuple_path);
      std::vector<std::vector<std::array<float, 3>>> pts(v.size());
      std::map<std::pair<int, int>, size_t> slot;
      for (size_t i = 0; i < v.size(); ++i) slot[{v[i]->layer, v[i]->head}] = i;
      for (const TupleRow& t : reader.rows()) {
        if (t.pos < run.min_pos || !std::isfinite(t.entropy_fixed_norm) || !std::isfinite(t.q_norm) ||
            !std::isfinite(t.entropy))
          continue;
        auto it = slot.find({t.layer, t.head});
        if (it != slot.end()) pts[it->second].push_back({t.q_norm, t.entropy, t.entropy_fixed_norm});
      }
      for (size_t i = 0; i < v.size(); ++i) {
        const MechanismHead& m = *v[i];
        const size_t stride = std::max<size_t>(1, (pts[i].size() + 2999) / 3000);  // ≤ 3000 points, deterministic
        std::ostringstream dat;
        for (size_t j = 0; j < pts[i].size(); j += stride)
          dat << json_number(pts[i][j][0], 6) << ' ' << json_number(pts[i][j][1], 6) << ' '
              << json_number(pts[i][j][2], 6) << '\n';
        if (pts[i].empty()) dat << "NaN NaN NaN\n";
        GnuplotFigure f;
        f.name = "mechanism_L" + std::to_string(m.layer) + "_H" + std::to_string(m.head);
        f.width = 800;
        f.height = 520;
        f.data = {{"pts.dat", dat.str()}};
        std::ostringstream s;
        s << "set title "
          << gp_str(head_label(m.layer, m.head) + ": r(‖q‖, H) = " + fixed(m.r, 3) +
                    ", r(‖q‖, H_{fix}) = " + fixed(m.r_fix, 3) + ", fraction via norm " +
                    (std::isfinite(m.fraction) ? fixed(m.fraction, 2) : std::string("undefined")))
          << '\n';
        s << "set xlabel 'query norm ‖q‖₂'\nset ylabel 'entropy (nats)'\nset tics out nomirror\n";
        s << "set key top right box opaque font ',9'\n";
        s << "plot 'pts.dat' using 1:2 with points pt 7 ps 0.35 lc rgb '#2166ac' title 'H (as measured)', "
             "'' using 1:3 with points pt 7 ps 0.35 lc rgb '#e08214' title 'H_{fix} (norm held at the reference)'\n";
        f.script = s.str();
        gp.render(f);
        out.push_back({f.name, head_label(m.layer, m.head) + ": H and H_fix against ‖q‖",
                       "Rows of " + head_label(m.layer, m.head) + " (positions ≥ " + std::to_string(run.min_pos) +
                           ", every " + std::to_string(stride) +
                           ". row). Where H_fix stays flat while H follows ‖q‖ the association runs through the norm; "
                           "where H_fix follows ‖q‖ as H does, the direction carries it. Raw values, not "
                           "position-controlled."});
      }
    }
  }
  return out;
}

FigureInfo figure_budget(Gnuplot& gp, const RunFolder& run) {
  static const char* const kTitles[BudgetHead::kPolicies] = {"fixed", "position", "‖q‖", "‖q‖ + position",
                                                             "previous token's k"};
  static const char* const kColours[BudgetHead::kPolicies] = {"#636363", "#1b9e77", "#d95f02", "#7570b3", "#e7298a"};
  std::map<int, std::pair<std::array<double, BudgetHead::kPolicies>, int>> layers;
  for (const auto& b : run.budget) {
    if (!b.defined()) continue;
    auto& [sum, n] = layers[b.layer];
    for (int k = 0; k < BudgetHead::kPolicies; ++k) sum[k] += b.coverage[k];
    ++n;
  }
  std::ostringstream dat;
  for (const auto& [l, a] : layers) {
    dat << l;
    for (int k = 0; k < BudgetHead::kPolicies; ++k) dat << ' ' << json_number(a.first[k] / a.second, 6);
    dat << '\n';
  }
  GnuplotFigure f;
  f.name = "budget_coverage";
  f.width = 900;
  f.height = 480;
  f.data = {{"cov.dat", dat.str()}};
  std::ostringstream s;
  s << "set title 'Held-out coverage at equal mean budget, mean over the heads of each layer'\n";
  s << "set xlabel 'layer'\nset ylabel 'coverage (fraction of tokens with budget ≥ k_P)'\nset tics out nomirror\n";
  s << "set xrange [-0.5:" << run.n_layers - 0.5 << "]\nset xtics 0," << std::max(1, (run.n_layers + 15) / 16) << "\n";
  s << "set grid ytics lc rgb '#dddddd'\nset key bottom right box opaque font ',9'\nplot ";
  for (int k = 0; k < BudgetHead::kPolicies; ++k)
    s << (k ? ", " : "") << "'cov.dat' using 1:" << k + 2 << " with linespoints pt " << 5 + 2 * k << " ps 0.8 lw "
      << (k == 2 || k == 3 ? 2.5 : 1.5) << " lc rgb '" << kColours[k] << "' title " << gp_str(kTitles[k]);
  s << "\n";
  f.script = s.str();
  gp.render(f);
  return {f.name, "Attention budget: coverage at equal mean budget",
          "Per layer, the mean over heads of the held-out (half B) fraction of tokens whose budget covers k_P, for "
          "each policy brought to the same mean budget (that of the fixed budget with 90% coverage on half A). A ‖q‖ "
          "policy above the fixed line: ‖q‖ orders tokens by the keys they need; ‖q‖ + position above position: "
          "‖q‖ adds to position."};
}

}  // namespace spectra::report
