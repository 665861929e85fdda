// spectra trace: one attention head, step by step, for a short input. Prints
// the tokens, ‖q‖, entropy and the top-attended tokens of each row, checks the
// engine's fused numbers against an independent double-precision reference
// (non-zero exit when they differ by more than the tolerance) and, with
// --out, writes the matrices as CSV plus the attention heatmap and the
// per-head ‖q‖-vs-H correlation demo (src/dissect/).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "cli/paths.hpp"
#include "dissect/head_trace.hpp"
#include "engine/token_ids.hpp"
#include "formats/weights.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"

namespace spectra::cli {

namespace {

struct TraceArgs {
  std::string model, text, tokens, out, gnuplot = "gnuplot", ref_layout = "model";
  int layer = -1, head = -1, threads = 0, rows = 64, top = 3;
  double tolerance = 1e-4;
  double budget_mass = 0.9;
};

void run(const TraceArgs& a) {
  if (a.text.empty() == a.tokens.empty()) throw Error("trace: give exactly one of --text or --tokens");
  auto model = open_model(a.model);
  const ModelDesc& d = model->desc();

  // The tokenizer is optional with --tokens (only for display).
  std::unique_ptr<Tokenizer> tok;
  std::string tok_error;
  try {
    tok = load_tokenizer(a.model);
  } catch (const Error& e) {
    tok_error = e.what();
  }
  std::vector<int32_t> ids;
  if (!a.tokens.empty()) {
    ids = engine::parse_token_ids(a.tokens, "--tokens");
  } else {
    if (!tok) throw Error("trace: --text needs the model's tokenizer: " + tok_error);
    ids = encode_for_model(*tok, d.add_bos, a.text);
  }
  if (ids.empty()) throw Error("trace: the input has no tokens");
  if (static_cast<int64_t>(ids.size()) > dissect::kMaxTraceTokens)
    throw Error("trace: the input has " + std::to_string(ids.size()) + " tokens; trace works on at most " +
                std::to_string(dissect::kMaxTraceTokens) + " (shorten --text or --tokens)");
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= d.vocab)
      throw Error("token id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                  " is out of range: the model's vocabulary has ids 0.." + std::to_string(d.vocab - 1));
  std::vector<std::string> text;  // display only; ids the tokenizer lacks are shown as #ID
  for (int32_t id : ids)
    text.push_back(tok && id < tok->vocab_size() ? tok->token_text(id) : "#" + std::to_string(id));

  dissect::TraceOptions opt;
  opt.layer = a.layer;
  opt.head = a.head;
  opt.tolerance = a.tolerance;
  opt.threads = a.threads;
  if (!(a.budget_mass > 0 && a.budget_mass < 1))
    throw Error("--budget-mass: must be a mass P with 0 < P < 1 (got " + std::to_string(a.budget_mass) + ")");
  opt.budget_mass = static_cast<float>(a.budget_mass);
  if (a.ref_layout == "half-split") opt.reference_rope_layout = RopeLayout::HalfSplit;
  else if (a.ref_layout == "adjacent") opt.reference_rope_layout = RopeLayout::Adjacent;
  else if (a.ref_layout == "swapped")
    opt.reference_rope_layout = d.rope_layout == RopeLayout::HalfSplit ? RopeLayout::Adjacent : RopeLayout::HalfSplit;
  else if (a.ref_layout != "model")
    throw Error("--reference-rope-layout: expected model, half-split, adjacent or swapped");

  const auto tr = dissect::trace_head(*model, ids, opt, text);
  std::fputs(dissect::trace_summary(tr, a.rows, a.top).c_str(), stdout);
  if (!a.out.empty()) {
    const auto figs = dissect::write_trace_output(tr, a.out, a.gnuplot);
    std::printf("wrote %s/: tokens.csv q.csv k.csv scores.csv attention.csv layer_heads.csv correlation.csv "
                "check.json",
                a.out.c_str());
    for (const auto& f : figs) std::printf(" %s.png", f.c_str());
    std::printf("\n");
  }
  std::fflush(stdout);
  const auto& c = tr.check;
  if (!c.passed) {
    char b[512];
    std::snprintf(b, sizeof b,
                  "trace: cross-check FAILED: the fused engine differs from the step-by-step reference "
                  "(max ‖q‖ rel diff %.3g, max entropy abs diff %.3g, H_fix abs %.3g, -Var rel %.3g, max score rel "
                  "%.3g, logsumexp rel %.3g, k_P rows differing %lld; tolerance %.3g)",
                  c.max_q_norm_rel, c.max_entropy_abs, c.max_fixed_entropy_abs, c.max_neg_var_rel,
                  c.max_max_score_rel, c.max_logsumexp_rel, static_cast<long long>(c.k_budget_mismatch), c.tolerance);
    throw Error(b);
  }
}

}  // namespace

void register_trace(CLI::App& app) {
  auto a = std::make_shared<TraceArgs>();
  auto* cmd = app.add_subcommand(
      "trace", "Look inside one attention head step by step (q, k, scores, softmax, entropy) and cross-check the engine");
  cmd->add_option("--model", a->model, "Model: HF folder or .gguf file")->required();
  cmd->add_option("--text", a->text, "Input text (tokenized with the model's tokenizer, BOS as the model says)");
  cmd->add_option("--tokens", a->tokens, "Input token ids, e.g. \"1 461 461\"");
  cmd->add_option("--layer", a->layer, "Layer (0-based)")->required();
  cmd->add_option("--head", a->head, "Query head (0-based)")->required();
  cmd->add_option("--out", a->out, "Write CSV matrices and figures into this folder")->transform(AbsolutePath());
  cmd->add_option("--tolerance", a->tolerance, "Cross-check tolerance: ‖q‖ relative and entropy absolute (default 1e-4)");
  cmd->add_option("--threads", a->threads, "Engine threads (default: all cores)");
  cmd->add_option("--budget-mass", a->budget_mass, "P of the attention budget k_P (default 0.9)");
  cmd->add_option("--rows", a->rows, "Rows shown on the terminal (default 64; --out has all)");
  cmd->add_option("--top", a->top, "Top-attended tokens shown per row (default 3)");
  cmd->add_option("--gnuplot", a->gnuplot, "gnuplot executable (default: gnuplot)");
  // Hidden, test-only: make the reference rotate with another pair layout.
  cmd->add_option("--reference-rope-layout", a->ref_layout, "")->group("");
  cmd->callback([a] { run(*a); });
}

}  // namespace spectra::cli
