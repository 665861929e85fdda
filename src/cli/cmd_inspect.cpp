// spectra inspect: the architecture overview a researcher reads first
// (description, GQA group, parameters by component, storage types, files).
#include <cstdio>
#include <string>

#include "cli/commands.hpp"
#include "formats/model_summary.hpp"
#include "formats/weights.hpp"

namespace spectra::cli {

void register_inspect(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "Describe a model: architecture, parameters, storage types, files");
  auto model = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--model", *model, "HF folder (config.json + safetensors) or .gguf file")->required();
  cmd->add_flag("--json", *json, "Print machine-readable JSON instead of a table");
  cmd->callback([model, json] {
    const auto m = open_model(*model);
    if (*json) {
      std::printf("%s\n", summary_json(*m).dump(2).c_str());
    } else {
      std::fputs(summary_text(*m).c_str(), stdout);
    }
  });
}

}  // namespace spectra::cli
