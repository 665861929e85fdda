// Per-layer profile: mean r, mean |r| and mean |partial r| by layer (top),
// fraction of heads passing the criteria by layer (bottom).
#include <algorithm>
#include <cmath>
#include <sstream>

#include "report/figures.hpp"
#include "report/format.hpp"

namespace spectra::report {

FigureInfo figure_layers(Gnuplot& gp, const RunFolder& run) {
  std::ostringstream dat;
  for (int l = 0; l < run.n_layers; ++l) {
    double sr = 0, sa = 0, sp = 0;
    int n = 0, np = 0, pass = 0, heads = 0;
    for (const auto& h : run.heads) {
      if (h.layer != l) continue;
      ++heads;
      pass += h.passes;
      if (std::isfinite(h.r)) {
        sr += h.r;
        sa += std::fabs(h.r);
        ++n;
      }
      if (std::isfinite(h.partial_r)) {
        sp += std::fabs(h.partial_r);
        ++np;
      }
    }
    dat << l << ' ' << (n ? json_number(sr / n, 6) : "NaN") << ' ' << (n ? json_number(sa / n, 6) : "NaN") << ' '
        << (np ? json_number(sp / np, 6) : "NaN") << ' ' << (heads ? json_number(double(pass) / heads, 6) : "NaN") << '\n';
  }
  GnuplotFigure f;
  f.name = "layer_profile";
  f.width = 900;
  f.height = 620;
  f.data = {{"layers.dat", dat.str()}};
  std::ostringstream sc;
  sc << "set multiplot title 'Per-layer profile of the ‖q‖–entropy correlation' font ',12'\n";
  sc << "set tics out nomirror\nset xrange [-0.5:" << run.n_layers - 0.5 << "]\n";
  sc << "set xtics 0," << std::max(1, (run.n_layers + 15) / 16) << "\n";
  sc << "set lmargin at screen 0.10\nset rmargin at screen 0.97\n";
  sc << "set tmargin at screen 0.86\nset bmargin at screen 0.42\nset format x ''\nunset xlabel\n";
  sc << "set ylabel 'correlation (mean over heads)'\nset key at screen 0.5, screen 0.93 center center horizontal font ',9' samplen 3\n";
  sc << "set grid ytics lc rgb '#dddddd'\nset yrange [*:*]\n";
  sc << "plot 0 with lines lc rgb '#888888' notitle, "
        "'layers.dat' using 1:2 with linespoints pt 7 ps 0.7 lc rgb '#2166ac' title 'mean r', "
        "'' using 1:3 with linespoints pt 5 ps 0.7 lc rgb '#b2182b' title 'mean |r|', "
        "'' using 1:4 with linespoints pt 9 ps 0.8 dt 2 lc rgb '#4d4d4d' title 'mean |partial r| (log(t+1) controlled)'\n";
  sc << "set tmargin at screen 0.38\nset bmargin at screen 0.10\nset format x '%g'\nset xlabel 'layer'\n";
  sc << "set ylabel 'fraction of heads passing'\nset yrange [0:1]\nunset key\nset style fill solid 0.8 noborder\nset boxwidth 0.7\n";
  sc << "plot 'layers.dat' using 1:5 with boxes lc rgb '#5aae61'\n";
  sc << "unset multiplot\n";
  f.script = sc.str();
  gp.render(f);
  return {f.name, "Per-layer profile",
          "Top: mean r, mean |r| and mean |partial r| (position controlled) over the heads of each layer. Bottom: "
          "fraction of the layer's heads passing the decision criteria."};
}

}  // namespace spectra::report
