// Scatter of ‖q‖ against entropy for representative heads, as a density
// (2-D histogram of all rows, coloured by count on a log scale) with the
// least-squares line, and a second panel coloured by mean position, which
// shows how much of the relation runs through position.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "report/figures.hpp"
#include "report/format.hpp"

namespace spectra::report {

std::string scatter_name(int layer, int head) {
  return "scatter_L" + std::to_string(layer) + "_H" + std::to_string(head);
}

std::vector<RepresentativeHead> choose_representative_heads(const RunFolder& run) {
  std::vector<const HeadStat*> valid;
  for (const auto& h : run.heads)
    if (std::isfinite(h.r)) valid.push_back(&h);
  std::vector<RepresentativeHead> out;
  if (valid.empty()) return out;
  auto push = [&](const HeadStat* h, const std::string& role) {
    for (auto& o : out)
      if (o.layer == h->layer && o.head == h->head) {
        o.role += "; " + role;
        return;
      }
    out.push_back({h->layer, h->head, role});
  };
  auto by_r = valid;
  std::stable_sort(by_r.begin(), by_r.end(), [](const HeadStat* a, const HeadStat* b) { return a->r < b->r; });
  push(by_r.front(), "most negative r");
  push(by_r.back(), "most positive r");
  push(by_r[(by_r.size() - 1) / 2], "median r");
  const int L = run.n_layers;
  const int quarters = std::min(4, L);
  for (int q = 0; q < quarters; ++q) {
    const int lo = q * L / quarters, hi = (q + 1) * L / quarters;  // [lo, hi)
    const HeadStat* best = nullptr;
    for (const HeadStat* h : valid)
      if (h->layer >= lo && h->layer < hi && (!best || std::fabs(h->r) > std::fabs(best->r))) best = h;
    if (best)
      push(best, hi - 1 > lo ? "strongest |r| in layers " + std::to_string(lo) + "–" + std::to_string(hi - 1)
                             : "strongest |r| in layer " + std::to_string(lo));
  }
  return out;
}

std::vector<FigureInfo> figure_scatters(Gnuplot& gp, const RunFolder& run, const TupleDigest& digest,
                                        const std::vector<RepresentativeHead>& reps) {
  std::vector<FigureInfo> infos;
  for (size_t j = 0; j < reps.size() && j < digest.densities.size(); ++j) {
    const RepresentativeHead& rep = reps[j];
    const Density2D& g = digest.densities[j];
    const HeadStat* s = run.find(rep.layer, rep.head);
    std::ostringstream dens;
    double max_pos = 1;
    const double dx = (g.x_hi - g.x_lo) / g.nx, dy = (g.y_hi - g.y_lo) / g.ny;
    for (int iy = 0; iy < g.ny; ++iy) {
      for (int ix = 0; ix < g.nx; ++ix) {
        const size_t c = static_cast<size_t>(iy) * g.nx + ix;
        const double mean_pos = g.count[c] ? g.pos_sum[c] / g.count[c] : NAN;
        if (g.count[c]) max_pos = std::max(max_pos, mean_pos);
        dens << json_number(g.x_lo + (ix + 0.5) * dx, 6) << ' ' << json_number(g.y_lo + (iy + 0.5) * dy, 6) << ' '
             << (g.count[c] ? std::to_string(g.count[c]) : "NaN") << ' '
             << (g.count[c] ? fixed(mean_pos, 2) : "NaN") << '\n';
      }
      dens << '\n';
    }
    GnuplotFigure f;
    f.name = scatter_name(rep.layer, rep.head);
    f.width = 1100;
    f.height = 480;
    f.data = {{"density.dat", dens.str()}};
    const std::string stats_line = s ? "r = " + fixed(s->r, 3) + ", ρ = " + fixed(s->rho, 3) + ", n = " + thousands(s->n)
                                     : "n = " + thousands(g.n_total);
    const std::string outside =
        g.n_outside ? " (" + thousands(g.n_outside) + " rows outside the 0.1–99.9% range not drawn)" : "";
    std::ostringstream sc;
    sc << "set multiplot title " << gp_str(head_label(rep.layer, rep.head) + " — " + rep.role + ":  " + stats_line)
       << " font ',12'\n";
    sc << "set xrange [" << g.x_lo << ":" << g.x_hi << "]\nset yrange [" << g.y_lo << ":" << g.y_hi << "]\n";
    sc << "set xlabel 'query norm ‖q‖₂ (post-RoPE, activation units)'\nset ylabel 'attention entropy H (nats)'\n";
    sc << "set tics out nomirror\nset key top right box opaque samplen 2 font ',9'\n";
    sc << "f(x) = " << json_number(g.intercept, 9) << " + (" << json_number(g.slope, 9) << ")*x\n";
    // Left: count density.
    sc << "set lmargin at screen 0.07\nset rmargin at screen 0.39\nset bmargin at screen 0.17\nset tmargin at screen 0.85\n";
    sc << "set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#fde725')\n";
    sc << "set logscale cb\nset cblabel 'rows per cell (log scale)'\n";
    sc << "set colorbox user origin screen 0.40, screen 0.17 size screen 0.015, screen 0.68\n";
    sc << "set title 'density of all rows" << (outside.empty() ? "" : "*") << "' font ',11'\n";
    sc << "plot 'density.dat' using 1:2:3 with image notitle, f(x) with lines lw 2 dt 2 lc rgb '#d62728' title 'least-squares fit'\n";
    // Right: mean position.
    sc << "set lmargin at screen 0.585\nset rmargin at screen 0.89\n";
    sc << "unset logscale cb\nset cbrange [" << run.min_pos << ":" << std::max(max_pos, run.min_pos + 1.0)
       << "]\nset cblabel 'mean position t in cell'\n";
    sc << "set palette defined (0 '#0d0887', 1 '#7e03a8', 2 '#cc4778', 3 '#f89540', 4 '#f0f921')\n";
    sc << "set colorbox user origin screen 0.905, screen 0.17 size screen 0.015, screen 0.68\n";
    sc << "set title 'coloured by position' font ',11'\nunset key\n";
    if (!outside.empty())
      sc << "set label 1 " << gp_str("*" + outside) << " at screen 0.01, screen 0.025 font ',9'\n";
    sc << "plot 'density.dat' using 1:2:4 with image notitle, f(x) with lines lw 2 dt 2 lc rgb 'black' notitle\n";
    sc << "unset multiplot\n";
    f.script = sc.str();
    gp.render(f);
    infos.push_back({f.name, head_label(rep.layer, rep.head) + " (" + rep.role + ")",
                     "‖q‖ against entropy for " + head_label(rep.layer, rep.head) + ", " + rep.role + ": " +
                         stats_line + ". Left: all rows as a 2-D histogram with the least-squares line; right: the "
                                      "same cells coloured by mean position." + outside});
  }
  return infos;
}

}  // namespace spectra::report
