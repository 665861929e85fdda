// spectra: the command-line entry point. Each subcommand is one thin file
// (cmd_*.cpp) that parses its flags and calls the library.
#include <cstdio>
#include <exception>

#include "cli/commands.hpp"
#include "util/error.hpp"

// Subcommands not built yet are weak: main() skips what is not linked in.
#define SPECTRA_WEAK_CMD(name) \
  namespace spectra::cli { __attribute__((weak)) void name(CLI::App&); }
SPECTRA_WEAK_CMD(register_inspect)
SPECTRA_WEAK_CMD(register_tokenize)
SPECTRA_WEAK_CMD(register_measure)
SPECTRA_WEAK_CMD(register_generate)
SPECTRA_WEAK_CMD(register_study)
SPECTRA_WEAK_CMD(register_analyze)
SPECTRA_WEAK_CMD(register_report)
SPECTRA_WEAK_CMD(register_trace)

int main(int argc, char** argv) {
  using namespace spectra::cli;
  CLI::App app{"Spectra: does the query norm predict attention entropy? Instrumented LLM forward passes on the CPU."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  register_version(app);
  for (auto reg : {register_inspect, register_tokenize, register_measure, register_generate, register_study,
                   register_analyze, register_report, register_trace}) {
    if (reg) reg(app);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const spectra::Error& e) {
    std::fprintf(stderr, "spectra: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spectra: internal error: %s\n", e.what());
    return 3;
  }
  return 0;
}
