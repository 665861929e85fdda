#pragma once
// Each subcommand lives in its own cmd_*.cpp and registers itself here.
// A registration adds a CLI11 subcommand and sets its callback.
#include <CLI/CLI.hpp>

namespace spectra::cli {

void register_version(CLI::App& app);
void register_inspect(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_measure(CLI::App& app);
void register_generate(CLI::App& app);
void register_study(CLI::App& app);
void register_analyze(CLI::App& app);
void register_report(CLI::App& app);
void register_trace(CLI::App& app);

}  // namespace spectra::cli
