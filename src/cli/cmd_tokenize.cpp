// spectra tokenize: print the token ids of a text (--text) or of a file's
// exact bytes (--file), space-separated on one line. BOS follows the model's
// own setting unless --no-bos.
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"

namespace spectra::cli {

namespace {
struct TokenizeOptions {
  std::string model, text, file;
  bool no_bos = false;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_file(path, "cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail_file(path, "read error");
  return ss.str();
}
}  // namespace

void register_tokenize(CLI::App& app) {
  auto opts = std::make_shared<TokenizeOptions>();
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids of a text, space-separated on one line");
  cmd->add_option("--model", opts->model, "A .gguf file or an HF model folder (tokenizer.json)")->required();
  auto* input = cmd->add_option_group("input", "What to tokenize (exactly one)");
  input->add_option("--text", opts->text, "The text itself");
  input->add_option("--file", opts->file, "A file; its exact bytes are tokenized");
  input->require_option(1);
  cmd->add_flag("--no-bos", opts->no_bos, "Do not prepend BOS (default: as the model's tokenizer settings say)");
  cmd->callback([opts] {
    std::string text;
    if (!opts->file.empty()) {
      text = read_bytes(opts->file);
      check_utf8(text, opts->file);
    } else {
      text = opts->text;
      check_utf8(text, "--text");
    }
    const auto tok = load_tokenizer(opts->model);
    const auto ids = tok->encode(text, tok->add_bos_default() && !opts->no_bos);
    std::string line;
    line.reserve(ids.size() * 6 + 1);
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) line += ' ';
      line += std::to_string(ids[i]);
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
  });
}

}  // namespace spectra::cli
