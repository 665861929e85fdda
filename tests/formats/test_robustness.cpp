// Robustness of the loaders: random corruption of real headers must give a
// spectra::Error or a valid model, never a crash or another exception (run
// under ASan/UBSan by scripts/test.sh); and opening an 8B-sized checkpoint
// maps it without reading or allocating its weights.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "formats/gguf.hpp"
#include "formats/model_summary.hpp"
#include "formats/weights.hpp"
#include "safetensors_edit.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using namespace spectra;
using namespace spectra::test;
using nlohmann::json;

namespace {

// Opens PATH; returns "" on success or on spectra::Error, else a description.
std::string open_outcome(const std::string& path) {
  try {
    auto m = open_model(path);
    (void)summary_json(*m);
    return "";
  } catch (const Error&) {
    return "";
  } catch (const std::exception& e) {
    return std::string("non-spectra exception: ") + e.what();
  }
}

void corrupt_and_open(const std::vector<uint8_t>& good, size_t region, const std::string& path, int rounds,
                      uint32_t seed, const std::function<void()>& prepare = {}) {
  std::mt19937 rng(seed);
  for (int i = 0; i < rounds; ++i) {
    auto b = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      const size_t at = rng() % region;
      b[at] = (rng() % 3 == 0) ? static_cast<uint8_t>(rng()) : static_cast<uint8_t>(b[at] ^ (1u << (rng() % 8)));
    }
    write_bytes(path, b);
    if (prepare) prepare();
    const std::string r = open_outcome(path);
    ASSERT_EQ(r, "") << "round " << i;
  }
}

uint64_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

TEST(Robustness, CorruptedGgufHeaders) {
  TempDir tmp;
  const auto good = read_bytes(stories_gguf());
  const size_t header = GgufFile(stories_gguf()).data_offset();
  corrupt_and_open(good, header, tmp / "x.gguf", 150, 1);
  // Focus on the fixed-size fields and tensor infos near the end of the header.
  std::vector<uint8_t> tail = good;
  std::mt19937 rng(2);
  for (int i = 0; i < 150; ++i) {
    auto b = good;
    const size_t at = header - 1 - rng() % std::min<size_t>(header, 2500);
    b[at] = static_cast<uint8_t>(rng());
    write_bytes(tmp / "y.gguf", b);
    ASSERT_EQ(open_outcome(tmp / "y.gguf"), "") << i;
  }
}

TEST(Robustness, CorruptedSafetensorsHeaders) {
  TempDir tmp;
  const std::string dir = tmp / "m";
  copy_folder(stories_hf(), dir);
  const auto good = read_bytes(dir + "/model.safetensors");
  uint64_t n = 0;
  std::memcpy(&n, good.data(), 8);
  corrupt_and_open(good, 8 + n, dir + "/model.safetensors", 200, 3);
  // The folder path itself is what open_model gets.
  write_bytes(dir + "/model.safetensors", good);
  EXPECT_EQ(open_outcome(dir), "");
}

TEST(Robustness, Llama3_8BIsMappedNotRead) {
  // A Llama-3-8B-shaped BF16 checkpoint as a sparse file: 16 GB that occupy
  // no disk. Opening and inspecting it must not read or copy the weights.
  TempDir tmp;
  const std::string dir = tmp / "llama3-8b";
  fs::create_directories(dir);
  const int L = 32, H = 4096, F = 14336, V = 128256, KV = 1024;
  write_text(dir + "/config.json", json{{"architectures", {"LlamaForCausalLM"}},
                                        {"hidden_size", H},
                                        {"intermediate_size", F},
                                        {"num_hidden_layers", L},
                                        {"num_attention_heads", 32},
                                        {"num_key_value_heads", 8},
                                        {"vocab_size", V},
                                        {"rms_norm_eps", 1e-5},
                                        {"rope_theta", 500000.0},
                                        {"tie_word_embeddings", false}}
                                       .dump());
  json header = json::object();
  uint64_t off = 0;
  auto add = [&](const std::string& name, std::vector<uint64_t> shape) {
    uint64_t n = 2;
    for (auto d : shape) n *= d;
    header[name] = {{"dtype", "BF16"}, {"shape", shape}, {"data_offsets", {off, off + n}}};
    off += n;
  };
  add("model.embed_tokens.weight", {uint64_t(V), uint64_t(H)});
  for (int l = 0; l < L; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {uint64_t(H)});
    add(p + "self_attn.q_proj.weight", {uint64_t(H), uint64_t(H)});
    add(p + "self_attn.k_proj.weight", {uint64_t(KV), uint64_t(H)});
    add(p + "self_attn.v_proj.weight", {uint64_t(KV), uint64_t(H)});
    add(p + "self_attn.o_proj.weight", {uint64_t(H), uint64_t(H)});
    add(p + "post_attention_layernorm.weight", {uint64_t(H)});
    add(p + "mlp.gate_proj.weight", {uint64_t(F), uint64_t(H)});
    add(p + "mlp.up_proj.weight", {uint64_t(F), uint64_t(H)});
    add(p + "mlp.down_proj.weight", {uint64_t(H), uint64_t(F)});
  }
  add("model.norm.weight", {uint64_t(H)});
  add("lm_head.weight", {uint64_t(V), uint64_t(H)});
  const std::string st = dir + "/model.safetensors";
  write_st_raw(st, header.dump(), {});
  const uint64_t total = fs::file_size(st) + off;
  fs::resize_file(st, total);  // sparse: no data written
  ASSERT_GT(total, uint64_t{15000000000});

  const uint64_t before = rss_bytes();
  auto m = open_model(dir);
  const auto j = summary_json(*m);
  const uint64_t grown = rss_bytes() > before ? rss_bytes() - before : 0;
  EXPECT_LT(grown, uint64_t{64} << 20) << "opening must map, not read";
  EXPECT_EQ(j["parameters"]["total"], 8030261248LL);  // Llama-3-8B
  EXPECT_EQ(j["gqa_group"], 4);
  // Converting one row touches only that row.
  std::vector<float> row(H);
  convert_rows_f32(m->tensor(WeightKind::Q, 31), 7, 8, row.data());
  EXPECT_EQ(row[0], 0.0f);
}
