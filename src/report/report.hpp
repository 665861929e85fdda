#pragma once
// The report of a finished study run: figures (PNG + SVG via gnuplot) in
// RUN_DIR/figures/, RUN_DIR/report.md and a self-contained, offline
// RUN_DIR/report.html (Debian's libjs-vega modules inlined).
//
// Entry point for `spectra study` (at its end) and `spectra report RUN_DIR`.
// The output depends only on the run folder's files, so running it again on
// the same folder reproduces report.md and report.html byte for byte.
#include <cstddef>
#include <string>

namespace spectra::report {

struct ReportOptions {
  // Folder holding Debian's libjs-vega module builds (vega-*.min.js).
  std::string vega_dir = "/usr/share/javascript/vega";
  // The gnuplot executable (looked up on PATH when not absolute).
  std::string gnuplot = "gnuplot";
  bool figures = true;                 // render the gnuplot figures
  int max_points_per_head = 2000;      // per-head scatter sample in the HTML
  size_t html_point_budget = 200000;   // all heads' samples together (~3.5 MB of HTML)
  bool quiet = false;                  // no progress lines on stderr
};

// Reads RUN_DIR (heads.csv, layers.csv, docs.csv, summary.json, config.toml,
// tuples.npy) and writes the figures and both reports atomically. Throws
// spectra::Error naming the file (and column) at fault.
void write_report(const std::string& run_dir, const ReportOptions& options = {});

}  // namespace spectra::report
