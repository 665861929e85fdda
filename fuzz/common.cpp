// What every fuzz target shares: the target table, the error policy, the
// scratch folder for entry points that take a path.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "targets.hpp"
#include "util/error.hpp"

namespace spectra::fuzz {

namespace fs = std::filesystem;

const std::vector<Target>& targets() {
  static const std::vector<Target> t = {
      {"safetensors", safetensors}, {"gguf", gguf},   {"hf_config", hf_config}, {"tokenizer_json", tokenizer_json},
      {"study_config", study_config}, {"npy", npy}, {"corpus", corpus},       {"tokenizer", tokenizer},
  };
  return t;
}

void run_one(void (*target)(Bytes), Bytes data) {
  try {
    target(data);
  } catch (const Error&) {
    // The clean refusal of bad input.
  }
}

void fail(const std::string& what) {
  std::fprintf(stderr, "spectra fuzz: broken invariant: %s\n", what.c_str());
  std::abort();
}

namespace {
struct Scratch {
  std::string dir;
  Scratch() {
    std::string tmpl = (fs::temp_directory_path() / "spectra-fuzz-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) fail("cannot create a scratch folder under " + fs::temp_directory_path().string());
    dir = tmpl;
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};
Scratch& scratch() {
  static Scratch s;
  return s;
}
}  // namespace

std::string scratch_dir() { return scratch().dir; }

std::string scratch_file(const std::string& name, Bytes data) {
  const std::string path = scratch().dir + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) fail("cannot write " + path);
  return path;
}

void remove_scratch_file(const std::string& name) {
  std::error_code ec;
  fs::remove(scratch().dir + "/" + name, ec);
}

}  // namespace spectra::fuzz
