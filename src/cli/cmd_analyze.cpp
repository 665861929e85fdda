// spectra analyze RUN_DIR: recompute every statistic from the saved tuples
// (no model needed) and write heads.csv, layers.csv, docs.csv, decision.json.
#include <cstdio>
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "cli/paths.hpp"
#include "stats/analyze.hpp"

namespace spectra::cli {

void register_analyze(CLI::App& app) {
  struct Opts {
    std::string run_dir, out_dir;
    std::optional<uint64_t> seed;
    std::optional<int> permutations, threads;
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "analyze",
      "Recompute the statistics and the GO / NO-GO / INCONCLUSIVE decision of a run from its tuples "
      "(RUN_DIR/tuples.npy or tuples.csv; settings from RUN_DIR/config.toml [analysis]/[criteria] if present)");
  cmd->add_option("run_dir", opts->run_dir, "Run folder")->required()->check(CLI::ExistingDirectory)->transform(AbsolutePath());
  cmd->add_option("--out", opts->out_dir, "Write the outputs here instead of RUN_DIR")->transform(AbsolutePath());
  cmd->add_option("--seed", opts->seed, "Permutation seed (overrides [analysis].seed)");
  cmd->add_option("--permutations", opts->permutations, "Permutations per null control (overrides [analysis].permutations)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", opts->threads, "OpenMP threads (results do not depend on it)")->check(CLI::PositiveNumber);
  cmd->callback([opts] {
    stats::AnalyzeOverrides ov{opts->seed, opts->permutations, opts->threads};
    auto r = stats::analyze_run(opts->run_dir, opts->out_dir, ov);
    const auto& d = r.decision;
    std::printf("%s: %s; %zu of %zu heads pass (need %zu); %llu rows, %zu windows from %zu independent documents\n",
                stats::to_string(d.verdict), d.reason.c_str(), d.heads_passing, d.heads, d.required_heads,
                static_cast<unsigned long long>(r.rows), r.docs.size(), d.documents);
    for (const auto& h : r.heads)
      if (h.passes)
        std::printf("  pass: layer %d head %d  within-document r = %.4f  p_adj = %.3g\n", h.id.layer, h.id.head,
                    h.primary(r.config).meta.r, h.p_adjusted);
  });
}

}  // namespace spectra::cli
