// write_report: read the run folder, digest the tuples, render the figures,
// write report.md and report.html (see report.hpp).
#include "report/report.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "observers/tuple_file.hpp"
#include "report/figures.hpp"
#include "report/report_sections.hpp"
#include "report/report_writers.hpp"
#include "report/run_folder.hpp"
#include "report/tuple_digest.hpp"
#include "util/atomic_file.hpp"

namespace spectra::report {

namespace fs = std::filesystem;

void write_report(const std::string& run_dir, const ReportOptions& opt) {
  auto say = [&](const std::string& s) {
    if (!opt.quiet) std::fprintf(stderr, "report: %s\n", s.c_str());
  };
  RunFolder run = read_run_folder(run_dir);
  const auto reps = choose_representative_heads(run);

  DigestRequest req;
  req.n_layers = run.n_layers;
  req.n_heads = run.n_heads;
  req.min_pos = run.min_pos;
  const size_t n_slots = static_cast<size_t>(run.n_layers) * run.n_heads;
  req.points_per_head = static_cast<int>(std::clamp<size_t>(opt.html_point_budget / std::max<size_t>(1, n_slots), 100,
                                                             static_cast<size_t>(std::max(100, opt.max_points_per_head))));
  for (const auto& r : reps) req.density_heads.push_back({r.layer, r.head});
  const std::string tuple_path = find_tuple_file(run_dir);
  say("reading " + tuple_path);
  req.doc_r = run.doc_r.empty();
  req.min_doc_positions = run.min_doc_positions;
  TupleDigest digest = digest_tuples(tuple_path, req);
  if (run.doc_r.empty()) run.doc_r = std::move(digest.doc_r);

  ReportContent content;
  content.run = &run;
  content.digest = &digest;
  content.reps = reps;
  if (opt.figures) {
    Gnuplot gp(opt.gnuplot, (fs::path(run_dir) / "figures").string());
    say("rendering figures into " + gp.figures_dir());
    content.figures.push_back(figure_heatmap(gp, run, false));
    content.figures.push_back(figure_heatmap(gp, run, true));
    content.figures.push_back(figure_layers(gp, run));
    for (auto& f : figure_scatters(gp, run, digest, reps)) content.figures.push_back(f);
    content.figures.push_back(figure_nulls(gp, run));
    content.figures.push_back(figure_reproducibility(gp, run));
    for (auto& f : figure_histograms(gp, run, digest)) content.figures.push_back(f);
    for (auto& f : figure_mechanism(gp, run, tuple_path)) content.figures.push_back(f);
    if (budget_not_measured(run).empty()) content.figures.push_back(figure_budget(gp, run));
  }
  const std::string md = render_markdown(content);
  write_file_atomic((fs::path(run_dir) / "report.md").string(), md);
  const std::string html = render_html(content, opt.vega_dir);
  write_file_atomic((fs::path(run_dir) / "report.html").string(), html);
  say("wrote " + (fs::path(run_dir) / "report.md").string() + " and report.html");
}

}  // namespace spectra::report
