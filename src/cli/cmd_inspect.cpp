// spectra inspect: the architecture overview a researcher reads first
// (description, GQA group, parameters by component, storage types, files).
#include <cstdio>
#include <string>

#include "cli/commands.hpp"
#include "cli/paths.hpp"
#include "dissect/weight_norms.hpp"
#include "formats/model_summary.hpp"
#include "formats/weights.hpp"

namespace spectra::cli {

void register_inspect(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "Describe a model: architecture, parameters, storage types, files");
  auto model = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto figures = std::make_shared<std::string>();
  cmd->add_option("--model", *model, "HF folder (config.json + safetensors) or .gguf file")->required();
  cmd->add_flag("--json", *json, "Print machine-readable JSON instead of a table");
  cmd->add_option("--figures", *figures, "Also write Q/K/V/O projection-weight figures (per-head norms, histograms) into DIR")
      ->transform(AbsolutePath());
  cmd->callback([model, json, figures] {
    const auto m = open_model(*model);
    if (*json) {
      std::printf("%s\n", summary_json(*m).dump(2).c_str());
    } else {
      std::fputs(summary_text(*m).c_str(), stdout);
    }
    if (!figures->empty()) {  // src/dissect/weight_norms.hpp
      std::fflush(stdout);
      const auto names = dissect::write_weight_figures(dissect::compute_weight_norms(*m), *figures);
      std::fprintf(stderr, "spectra inspect: wrote %zu figures and weight_norms.csv, weight_histograms.csv to %s\n",
                   names.size(), figures->c_str());
    }
  });
}

}  // namespace spectra::cli
