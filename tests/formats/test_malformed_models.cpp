// Broken model files, derived in a temp dir from the real stories260k files:
// each must give a clear spectra::Error naming the file and the field or
// offset (and, through the CLI, exit code 2 with the message on stderr).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "formats/safetensors_file.hpp"
#include "formats/weights.hpp"
#include "safetensors_edit.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using namespace spectra;
using namespace spectra::test;
using nlohmann::json;

namespace {

// A writable copy of the stories260k HF folder.
struct HfCopy {
  TempDir tmp;
  std::string dir = tmp / "model";
  std::string st = dir + "/model.safetensors";
  std::string cfg = dir + "/config.json";
  HfCopy() { copy_folder(stories_hf(), dir); }
  StFile read() const { return read_st(st); }
  json config() const { return json::parse(read_text(cfg)); }
  void write_config(const json& c) const { write_text(cfg, c.dump()); }
};

// open_model(path) must throw an Error containing every needle.
void expect_error(const std::string& path, std::initializer_list<std::string> needles) {
  try {
    open_model(path);
    ADD_FAILURE() << "no error opening " << path;
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  }
}

void expect_cli_error(const std::string& path, const std::string& needle) {
  auto r = run_command(quote(SPECTRA_EXE) + " inspect --model " + quote(path));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err.rfind("spectra: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

}  // namespace

TEST(MalformedSafetensors, TruncatedFile) {
  HfCopy m;
  auto b = read_bytes(m.st);
  b.resize(b.size() / 2);
  write_bytes(m.st, b);
  expect_error(m.dir, {m.st, "data_offsets", "past the data section"});
  b.resize(5);
  write_bytes(m.st, b);
  expect_error(m.dir, {m.st, "at offset 0", "truncated"});
  expect_cli_error(m.dir, m.st);
}

TEST(MalformedSafetensors, HeaderLengthBeyondFile) {
  HfCopy m;
  auto b = read_bytes(m.st);
  const uint64_t huge = b.size();
  std::memcpy(b.data(), &huge, 8);
  write_bytes(m.st, b);
  expect_error(m.dir, {m.st, "at offset 0", "header length", "exceeds the file size"});
  expect_cli_error(m.dir, "header length");
}

TEST(MalformedSafetensors, MalformedHeaderJson) {
  HfCopy m;
  auto f = m.read();
  std::string h = f.header.dump();
  h.back() = ' ';  // the closing brace
  write_st_raw(m.st, h, f.data);
  expect_error(m.dir, {m.st, "at offset", "header JSON is malformed"});
  write_st_raw(m.st, "[1, 2]", f.data);
  expect_error(m.dir, {m.st, "not an object"});
}

TEST(MalformedSafetensors, OffsetsOutOfRange) {
  HfCopy m;
  auto f = m.read();
  auto& e = f.header["model.norm.weight"]["data_offsets"];
  const uint64_t len = e[1].get<uint64_t>() - e[0].get<uint64_t>();
  e = {f.data.size(), f.data.size() + len};
  write_st(m.st, f);
  expect_error(m.dir, {m.st, "field 'model.norm.weight.data_offsets'", "past the data section"});
}

TEST(MalformedSafetensors, OverlappingOffsets) {
  HfCopy m;
  auto f = m.read();
  const json a = f.header["model.layers.0.input_layernorm.weight"]["data_offsets"];
  f.header["model.layers.1.input_layernorm.weight"]["data_offsets"] = a;
  write_st(m.st, f);
  expect_error(m.dir, {m.st, "input_layernorm.weight.data_offsets", "overlap"});
}

TEST(MalformedSafetensors, LengthContradictsShape) {
  HfCopy m;
  auto f = m.read();
  f.header["model.norm.weight"]["shape"] = {65};
  write_st(m.st, f);
  expect_error(m.dir, {m.st, "field 'model.norm.weight.data_offsets'", "byte length 256 != product(shape [65])"});
}

TEST(MalformedSafetensors, UnknownAndUnsupportedDtype) {
  HfCopy m;
  auto f = m.read();
  f.header["model.norm.weight"]["dtype"] = "F17";
  write_st(m.st, f);
  expect_error(m.dir, {m.st, "field 'model.norm.weight.dtype'", "unknown dtype 'F17'"});
  expect_cli_error(m.dir, "unknown dtype 'F17'");
  // A known dtype Spectra does not read, on a weight it needs.
  f.header["model.norm.weight"]["dtype"] = "I32";
  write_st(m.st, f);
  expect_error(m.dir, {m.st, "model.norm.weight.dtype", "I32 is not supported"});
}

TEST(MalformedSafetensors, MissingTensor) {
  HfCopy m;
  auto f = m.read();
  f.header.erase("model.layers.3.mlp.up_proj.weight");
  write_st(m.st, f);
  expect_error(m.dir, {m.st, "missing tensor 'model.layers.3.mlp.up_proj.weight'", "layer 3"});
  expect_cli_error(m.dir, "missing tensor 'model.layers.3.mlp.up_proj.weight'");
}

TEST(MalformedConfig, ShapeContradictsConfig) {
  HfCopy m;
  auto c = m.config();
  c["intermediate_size"] = 176;
  m.write_config(c);
  expect_error(m.dir, {m.st, "tensor 'model.layers.0.mlp.gate_proj.weight'", "shape [172, 64] contradicts config.json",
                       "expected [176, 64]"});
  c = m.config();
  c["intermediate_size"] = 172;
  c["num_key_value_heads"] = 8;
  m.write_config(c);
  expect_error(m.dir, {"self_attn.k_proj.weight", "contradicts config.json", "kv_heads=8"});
}

TEST(MalformedConfig, MissingMalformedUnsupported) {
  HfCopy m;
  auto c = m.config();
  m.write_config(json::parse(R"({"architectures": ["GPT2LMHeadModel"]})"));
  expect_error(m.dir, {m.cfg, "field 'architectures'", "unsupported architecture 'GPT2LMHeadModel'"});
  expect_cli_error(m.dir, "unsupported architecture");
  write_text(m.cfg, "{\"architectures\": [\"LlamaForCausalLM\"], ");
  expect_error(m.dir, {m.cfg, "malformed JSON"});
  c.erase("num_hidden_layers");
  m.write_config(c);
  expect_error(m.dir, {m.cfg, "field 'num_hidden_layers': missing"});
  fs::remove(m.cfg);
  expect_error(m.dir, {m.cfg, "missing"});
  expect_cli_error(m.dir, "config.json");
}

TEST(MalformedConfig, NoWeightsInFolder) {
  HfCopy m;
  fs::remove(m.st);
  expect_error(m.dir, {m.dir, "no model.safetensors"});
}

TEST(MalformedGguf, TruncatedAndMissingTensor) {
  TempDir tmp;
  auto b = read_bytes(stories_gguf());
  {
    auto cut = b;
    cut.resize(b.size() - 1000);
    write_bytes(tmp / "cut.gguf", cut);
    expect_error(tmp / "cut.gguf", {tmp / "cut.gguf", "at offset", "outside the file"});
    expect_cli_error(tmp / "cut.gguf", "outside the file");
    cut.resize(100);
    write_bytes(tmp / "cut.gguf", cut);
    expect_error(tmp / "cut.gguf", {tmp / "cut.gguf", "at offset", "truncated"});
  }
  {  // Rename a tensor in place: blk.2.ffn_up.weight -> blk.2.ffn_uq.weight.
    auto ren = b;
    const std::string from = "blk.2.ffn_up.weight";
    auto it = std::search(ren.begin(), ren.end(), from.begin(), from.end());
    ASSERT_NE(it, ren.end());
    it[11] = 'q';
    write_bytes(tmp / "ren.gguf", ren);
    expect_error(tmp / "ren.gguf", {tmp / "ren.gguf", "missing tensor 'blk.2.ffn_up.weight'"});
  }
  {  // Unsupported architecture.
    auto arch = b;
    const std::string from = "llama";
    auto it = std::search(arch.begin(), arch.end(), from.begin(), from.end());
    ASSERT_NE(it, arch.end());
    std::copy_n("gemma", 5, it);
    write_bytes(tmp / "arch.gguf", arch);
    expect_error(tmp / "arch.gguf", {"general.architecture", "unsupported architecture 'gemma'"});
  }
}

TEST(MalformedPath, NotAModel) {
  TempDir tmp;
  write_text(tmp / "notes.txt", "hello");
  expect_error(tmp / "notes.txt", {"not a model"});
  expect_error(tmp / "absent", {"no such file"});
  expect_cli_error(tmp / "absent", "no such file");
}
