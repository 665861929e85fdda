// spectra report RUN_DIR: (re)write the figures, report.md and report.html of
// a finished study run from its files alone.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "cli/paths.hpp"
#include "report/report.hpp"
#include "util/error.hpp"

namespace spectra::cli {

void register_report(CLI::App& app) {
  auto* cmd = app.add_subcommand("report", "Write figures, report.md and report.html for a finished study run");
  struct Args {
    std::string run_dir;
    spectra::report::ReportOptions opt;
    bool no_figures = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("RUN_DIR", args->run_dir, "Study run folder (heads.csv, summary.json, tuples.npy, ...)")
      ->required()
      ->check(CLI::ExistingDirectory)
      ->transform(AbsolutePath());
  cmd->add_option("--vega-dir", args->opt.vega_dir, "Folder of Debian's libjs-vega modules")->capture_default_str();
  cmd->add_option("--gnuplot", args->opt.gnuplot, "gnuplot executable")->capture_default_str();
  cmd->add_option("--points-per-head", args->opt.max_points_per_head,
                  "Most sampled rows per head in the HTML scatter")
      ->capture_default_str()
      ->check(CLI::Range(10, 100000));
  cmd->add_flag("--no-figures", args->no_figures, "Skip the gnuplot figures");
  cmd->add_flag("-q,--quiet", args->opt.quiet, "No progress lines");
  cmd->callback([args] {
    // A study still running (or one that failed) leaves the INCOMPLETE marker.
    const auto marker = std::filesystem::path(args->run_dir) / "INCOMPLETE";
    if (std::filesystem::exists(marker)) {
      std::ifstream in(marker);
      std::string why((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
      spectra::fail_file(marker.string(), "the study in this folder has not finished" + (why.empty() ? "" : ": " + why));
    }
    args->opt.figures = !args->no_figures;
    spectra::report::write_report(args->run_dir, args->opt);
  });
}

}  // namespace spectra::cli
