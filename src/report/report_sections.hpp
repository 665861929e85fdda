#pragma once
// The report's sections as Markdown, shared by report.md and report.html
// (which converts them with markdown_to_html).
#include <string>

#include "report/report_writers.hpp"

namespace spectra::report {

std::string section_title();                               // "# ..." line
std::string section_decision(const RunFolder& run);        // decision line + criteria table
std::string section_heads_table(const RunFolder& run, size_t max_rows);  // strongest heads
std::string section_layers(const RunFolder& run);          // layers.csv as a table
std::string section_methods(const RunFolder& run, const TupleDigest& digest);  // methods + provenance + config
// Issue #14 (section_mechanism.cpp): "## ..." sections on the norm channel and
// on the attention budget; each says "Not measured in this run: needs ..."
// (or "Not computed") and stops when its tuple columns were not measured.
std::string section_mechanism(const RunFolder& run);
std::string section_budget(const RunFolder& run);
// The "not measured" sentence, empty when the analysis has data.
std::string mechanism_not_measured(const RunFolder& run);
std::string budget_not_measured(const RunFolder& run);

}  // namespace spectra::report
