// open_model(): picks the loader from what PATH is. A directory is an HF
// folder; a file starting with the GGUF magic is GGUF; a config.json or
// .safetensors file stands for its folder.
#include <filesystem>
#include <fstream>

#include "formats/loaders.hpp"
#include "util/error.hpp"

namespace spectra {

namespace fs = std::filesystem;

std::unique_ptr<Model> open_model(const std::string& path) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) fail_file(path, "no such file or directory");
  if (fs::is_directory(st)) return open_hf_model(path);
  const fs::path p(path);
  if (p.filename() == "config.json" || p.extension() == ".safetensors" || p.filename() == "model.safetensors.index.json")
    return open_hf_model(p.parent_path().empty() ? "." : p.parent_path().string());
  char magic[4] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(magic, 4);
  if (in.gcount() == 4 && std::string(magic, 4) == "GGUF") return open_gguf_model(path);
  if (p.extension() == ".gguf") return open_gguf_model(path);  // reports the bad magic
  fail_file(path, "not a model: expected an HF folder (config.json + safetensors) or a GGUF file");
}

}  // namespace spectra
