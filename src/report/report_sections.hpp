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

}  // namespace spectra::report
