#pragma once
// What report.md and report.html are written from, and the two writers.
#include <string>
#include <vector>

#include "report/figures.hpp"
#include "report/run_folder.hpp"
#include "report/tuple_digest.hpp"

namespace spectra::report {

struct ReportContent {
  const RunFolder* run = nullptr;
  const TupleDigest* digest = nullptr;
  std::vector<RepresentativeHead> reps;
  std::vector<FigureInfo> figures;  // in report order; empty when figures are off
};

// The interpretation, as Markdown paragraphs and bullet lists, written from
// the numbers (interpretation.cpp).
std::string interpretation_markdown(const RunFolder& run, const TupleDigest& digest);

std::string render_markdown(const ReportContent& c);
// VEGA_DIR: Debian's libjs-vega folder, inlined into the page.
std::string render_html(const ReportContent& c, const std::string& vega_dir);

// Minimal Markdown → HTML for the interpretation text we write ourselves
// (paragraphs, "- " bullets, **bold**, `code`, tables); HTML-escaped.
std::string markdown_to_html(const std::string& md);
std::string html_escape(const std::string& s);

}  // namespace spectra::report
