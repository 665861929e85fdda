// spectra generate: greedy continuation of a prompt with a KV cache; prints
// the text as it is produced, then the speed on stderr.
#include <cstdio>
#include <string>

#include "cli/commands.hpp"
#include "engine/generate.hpp"
#include "formats/weights.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"

namespace spectra::cli {

namespace {

struct GenerateArgs {
  std::string model, prompt, precision = "auto";
  int n = 32, threads = 0;
  bool ids = false, no_eos_stop = false;
};

void run(const GenerateArgs& a) {
  auto model = open_model(a.model);
  auto tok = load_tokenizer(a.model);
  const ModelDesc& d = model->desc();
  std::vector<int32_t> prompt = encode_for_model(*tok, d.add_bos, a.prompt);
  if (prompt.empty()) throw Error("generate: the prompt encodes to no tokens");
  engine::EngineOptions eo;
  eo.precision = engine::parse_precision(a.precision);
  eo.threads = a.threads;
  eo.weights = engine::WeightsMode::Resident;
  engine::Engine eng(*model, eo);
  if (!eng.precision_note().empty()) std::fprintf(stderr, "spectra generate: %s\n", eng.precision_note().c_str());

  std::vector<int32_t> out;
  std::string printed;
  std::printf("%s", a.prompt.c_str());
  std::fflush(stdout);
  engine::GenerateOptions go;
  go.max_new_tokens = a.n;
  go.stop_at_eos = !a.no_eos_stop;
  go.on_token = [&](int32_t id) {
    out.push_back(id);
    if (id == d.eos_id) return;
    // Print the newly completed text (byte-level BPE tokens may split UTF-8).
    std::vector<int32_t> visible(out.begin(), out.end());
    std::string text = tok->decode(visible);
    if (text.size() > printed.size() && text.compare(0, printed.size(), printed) == 0) {
      std::fwrite(text.data() + printed.size(), 1, text.size() - printed.size(), stdout);
      std::fflush(stdout);
      printed = text;
    }
  };
  auto r = engine::generate_greedy(eng, prompt, go);
  std::printf("\n");
  if (a.ids) {
    std::printf("prompt ids:");
    for (auto id : prompt) std::printf(" %d", id);
    std::printf("\nnew ids:");
    for (auto id : r.tokens) std::printf(" %d", id);
    std::printf("\n");
  }
  std::fflush(stdout);  // the text first, then the timing line on stderr
  std::fprintf(stderr, "spectra generate: %zu prompt tokens (%.3f s prefill), %zu new tokens, %.1f tokens/s decode (%s, %d threads)\n",
               prompt.size(), r.prefill_seconds, r.tokens.size(), r.decode_tokens_per_s(),
               engine::to_string(eng.precision()), eng.threads());
}

}  // namespace

void register_generate(CLI::App& app) {
  auto a = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "Greedy text generation with a KV cache (a sanity check of the engine)");
  cmd->add_option("--model", a->model, "Model: HF folder or .gguf file")->required();
  cmd->add_option("--prompt", a->prompt, "Prompt text")->required();
  cmd->add_option("-n", a->n, "New tokens to generate (default 32)");
  cmd->add_option("--precision", a->precision, "bf16, fp32 or auto");
  cmd->add_option("--threads", a->threads, "Threads (default: all cores)");
  cmd->add_flag("--ids", a->ids, "Also print the token ids");
  cmd->add_flag("--no-eos-stop", a->no_eos_stop, "Do not stop at the end-of-sequence token");
  cmd->callback([a] { run(*a); });
}

}  // namespace spectra::cli
