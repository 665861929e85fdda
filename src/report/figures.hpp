#pragma once
// The report's figures. Each figure_*.cpp renders one kind through the
// gnuplot driver and returns what the reports need to show it.
#include <string>
#include <vector>

#include "report/gnuplot.hpp"
#include "report/run_folder.hpp"
#include "report/tuple_digest.hpp"

namespace spectra::report {

struct FigureInfo {
  std::string name;     // file base name in RUN_DIR/figures/ (.png and .svg)
  std::string title;
  std::string caption;  // one or two sentences for the report
};

// A head shown as a scatter, and why.
struct RepresentativeHead {
  int layer = 0, head = 0;
  std::string role;  // "most negative r", "median r", "strongest in layers 0-7", ...
};

// The most negative, most positive and median-r heads, and the strongest
// (largest |r|) head of each layer quartile; no head twice.
std::vector<RepresentativeHead> choose_representative_heads(const RunFolder& run);

// Heatmap plot area in screen fractions, fixed so that a cell's place in the
// image follows from (layer, head) alone (the tests sample pixels there).
struct HeatmapLayout {
  static constexpr double left = 0.10, right = 0.80, bottom = 0.14, top = 0.86;
  static int width() { return 900; }
  static int height(int n_layers, int n_heads);
};

// Colour stops shared by the figures and the HTML (RdBu, red = positive).
extern const char* const kDivergingStops[11];

FigureInfo figure_heatmap(Gnuplot& gp, const RunFolder& run, bool partial);
std::vector<FigureInfo> figure_scatters(Gnuplot& gp, const RunFolder& run, const TupleDigest& digest,
                                        const std::vector<RepresentativeHead>& reps);
std::vector<FigureInfo> figure_histograms(Gnuplot& gp, const RunFolder& run, const TupleDigest& digest);
FigureInfo figure_nulls(Gnuplot& gp, const RunFolder& run);
FigureInfo figure_layers(Gnuplot& gp, const RunFolder& run);
FigureInfo figure_reproducibility(Gnuplot& gp, const RunFolder& run);

// Issue #14 (figure_mechanism.cpp), drawn only when measured: the norm-channel
// fraction heatmap and, for the `scatter_heads` heads with the largest
// |r(‖q‖, H)|, H and H_fix against ‖q‖ (rows read from the tuple file); and
// the held-out budget coverage per layer (call it only when measured).
std::vector<FigureInfo> figure_mechanism(Gnuplot& gp, const RunFolder& run, const std::string& tuple_path,
                                         int scatter_heads = 3);
FigureInfo figure_budget(Gnuplot& gp, const RunFolder& run);

// File base name of a representative head's scatter.
std::string scatter_name(int layer, int head);

}  // namespace spectra::report
