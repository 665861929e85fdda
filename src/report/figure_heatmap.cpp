// Heatmap of per-head Pearson r (or partial r on log(t+1)): layers × heads,
// diverging RdBu map centred on 0 with the fixed scale -1..1; heads that pass
// the decision criteria are ringed.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "report/figures.hpp"
#include "report/format.hpp"

namespace spectra::report {

const char* const kDivergingStops[11] = {"#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7",
                                         "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f"};

int HeatmapLayout::height(int n_layers, int n_heads) {
  const double plot_w = (right - left) * width();
  const double cell_w = plot_w / std::max(1, n_heads);
  const double cell_h = std::max(12.0, std::min(cell_w, 640.0 / std::max(1, n_layers)));
  return static_cast<int>(std::lround(cell_h * n_layers / (top - bottom)));
}

std::string diverging_palette() {
  std::string s = "set palette defined (";
  for (int i = 0; i < 11; ++i) s += std::string(i ? ", " : "") + fixed(-1.0 + 0.2 * i, 1) + " '" + kDivergingStops[i] + "'";
  return s + ")\n";
}

FigureInfo figure_heatmap(Gnuplot& gp, const RunFolder& run, bool partial) {
  const int L = run.n_layers, H = run.n_heads;
  std::ostringstream cells, rings;
  int n_pass = 0;
  for (int l = 0; l < L; ++l) {
    for (int h = 0; h < H; ++h) {
      const HeadStat* s = run.find(l, h);
      double v = s ? (partial ? s->partial_r : s->r) : NAN;
      cells << h << ' ' << l << ' ' << (std::isfinite(v) ? fixed(v, 4) : "NaN") << '\n';
      if (s && s->passes) {
        rings << h << ' ' << l << '\n';
        ++n_pass;
      }
    }
    cells << '\n';
  }
  if (n_pass == 0) rings << "NaN NaN\n";

  GnuplotFigure f;
  f.name = partial ? "heatmap_partial_r" : "heatmap_pearson_r";
  f.width = HeatmapLayout::width();
  f.height = HeatmapLayout::height(L, H);
  f.data = {{"cells.dat", cells.str()}, {"rings.dat", rings.str()}};
  const int xstep = std::max(1, (H + 15) / 16), ystep = std::max(1, (L + 15) / 16);
  const double cell_px = (HeatmapLayout::right - HeatmapLayout::left) * f.width / std::max(1, H);
  const double ring = std::clamp(cell_px / 14.0, 0.6, 2.5);
  std::ostringstream s;
  s << "set lmargin at screen " << HeatmapLayout::left << "\nset rmargin at screen " << HeatmapLayout::right
    << "\nset bmargin at screen " << HeatmapLayout::bottom << "\nset tmargin at screen " << HeatmapLayout::top << '\n';
  s << diverging_palette() << "set cbrange [-1:1]\nset cbtics -1,0.5,1\n";
  s << "set colorbox user origin screen 0.84, screen " << HeatmapLayout::bottom << " size screen 0.03, screen "
    << (HeatmapLayout::top - HeatmapLayout::bottom) << '\n';
  s << "set cblabel " << gp_str(partial ? "partial r (controlling log(t+1))" : "Pearson r") << '\n';
  s << "set xrange [-0.5:" << H - 0.5 << "]\nset yrange [-0.5:" << L - 0.5 << "]\n";
  s << "set xtics 0," << xstep << " out nomirror\nset ytics 0," << ystep << " out nomirror\n";
  s << "set xlabel 'query head'\nset ylabel 'layer'\nset object 1 rectangle from graph 0,0 to graph 1,1 behind fillcolor rgb '#bdbdbd' fs solid noborder\n";
  const std::string what = partial ? "Partial r of ‖q‖ vs entropy H, controlling log(t+1)" : "Pearson r of ‖q‖ vs entropy H";
  s << "set title " << gp_str(what + "\n{/*0.8 ○ passes the decision criteria (" + std::to_string(n_pass) + " of " +
                              std::to_string(run.heads.size()) + " heads); grey = no data}")
    << '\n';
  s << "plot 'cells.dat' using 1:2:3 with image notitle, \\\n"
       "     'rings.dat' using 1:2 with points pt 6 ps "
    << fixed(ring, 2) << " lw 1.5 lc rgb 'black' notitle\n";
  f.script = s.str();
  gp.render(f);

  FigureInfo info;
  info.name = f.name;
  info.title = partial ? "Pooled partial correlation on log(t+1) (descriptive), layers × heads"
                       : "Pooled Pearson r (descriptive), layers × heads";
  info.caption = partial ? "Partial correlation of ‖q‖ and entropy after regressing both on log(t+1), pooled over all "
                           "rows of all documents (descriptive; the decision uses the within-document statistic in "
                           "heads.csv and the interactive heatmap). Same colour scale as the Pearson heatmap; rings "
                           "mark heads passing the criteria."
                         : "Pearson r between ‖q‖ and attention entropy pooled over all rows of all documents, for "
                           "every query head (descriptive: it mixes differences between documents and position "
                           "effects; blue negative, red positive, fixed scale −1..1). Rings mark heads passing the "
                           "criteria.";
  return info;
}

}  // namespace spectra::report
