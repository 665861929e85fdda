// spectra version: the tool version and the git commit it was built from.
#include <cstdio>

#include "cli/commands.hpp"
#include "spectra_version.hpp"

namespace spectra::cli {

void register_version(CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "Print the version and git commit");
  cmd->callback([] { std::printf("spectra %s (commit %s)\n", kVersion, kGitCommit); });
}

}  // namespace spectra::cli
