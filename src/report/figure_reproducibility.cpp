// Reproducibility across documents: each head's r in each document against
// its pooled r (one small point per document and head), the per-head mean ± sd
// over documents, and the identity line; the title gives the agreement.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "report/figures.hpp"
#include "report/format.hpp"

namespace spectra::report {

FigureInfo figure_reproducibility(Gnuplot& gp, const RunFolder& run) {
  std::ostringstream docs, heads;
  for (const auto& d : run.doc_r) {
    const HeadStat* h = run.find(d.layer, d.head);
    if (h && std::isfinite(h->r) && std::isfinite(d.r)) docs << json_number(h->r, 6) << ' ' << json_number(d.r, 6) << '\n';
  }
  std::vector<double> agree;
  for (const auto& h : run.heads) {
    if (std::isfinite(h.r) && std::isfinite(h.doc_mean_r))
      heads << json_number(h.r, 6) << ' ' << json_number(h.doc_mean_r, 6) << ' '
            << json_number(std::isfinite(h.doc_sd_r) ? h.doc_sd_r : 0.0, 6) << '\n';
    if (std::isfinite(h.sign_agreement)) agree.push_back(h.sign_agreement);
  }
  if (docs.str().empty()) docs << "NaN NaN\n";
  if (heads.str().empty()) heads << "NaN NaN NaN\n";
  std::sort(agree.begin(), agree.end());
  const double median = agree.empty() ? NAN : agree[(agree.size() - 1) / 2];
  const auto all_same = std::count_if(agree.begin(), agree.end(), [](double a) { return a >= 0.999; });

  GnuplotFigure f;
  f.name = "reproducibility";
  f.width = 760;
  f.height = 700;
  f.data = {{"docs.dat", docs.str()}, {"heads.dat", heads.str()}};
  std::ostringstream sc;
  sc << "set title " << gp_str("Per-document r against pooled r\n{/*0.85 sign agreement with the pooled r: median " +
                               percent(median) + " of documents; " + std::to_string(all_same) + " of " +
                               std::to_string(agree.size()) + " heads agree in every document}")
     << "\n";
  sc << "set xrange [-1:1]\nset yrange [-1:1]\nset size ratio -1\nset tics out nomirror\nset grid lc rgb '#eeeeee'\n";
  sc << "set xlabel 'pooled Pearson r (all documents)'\nset ylabel 'Pearson r within one document'\n";
  sc << "set key top left box opaque font ',9'\n";
  sc << "plot x with lines dt 2 lc rgb 'black' title 'identity', "
        "'docs.dat' using 1:2 with points pt 7 ps 0.6 lc rgb '#604393c3' title 'one head in one document', "
        << (run.heads.size() <= 60
                ? "'heads.dat' using 1:2:3 with yerrorbars pt 7 ps 0.6 lc rgb '#b2182b' title 'per-head mean ± sd over documents'\n"
                : "'heads.dat' using 1:2 with points pt 7 ps 0.45 lc rgb '#b2182b' title 'per-head mean over documents'\n");
  f.script = sc.str();
  gp.render(f);
  return {f.name, "Reproducibility across documents",
          "Each head's r within each document (small points) and its mean over documents (red; ± sd when few heads) against the "
          "pooled r; points on the identity line mean the document agrees with the pooled estimate."};
}

}  // namespace spectra::report
