// open_model() on real files: the default SmolLM2 GGUF, stories260k as an HF
// folder, as GGUF and as a sharded HF folder (the same weights once the RoPE
// row order is accounted for), plus `spectra inspect` as a subprocess.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <nlohmann/json.hpp>

#include "formats/model_summary.hpp"
#include "formats/weights.hpp"
#include "safetensors_edit.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using namespace spectra;
using namespace spectra::test;

namespace {

std::vector<float> rows_f32(const TensorView& v) {
  std::vector<float> out(static_cast<size_t>(v.numel()));
  convert_rows_f32(v, 0, v.rows, out.data());
  return out;
}

const WeightKind kLayerKinds[] = {WeightKind::AttnNorm, WeightKind::Q,    WeightKind::K,  WeightKind::V,
                                  WeightKind::O,        WeightKind::FfnNorm, WeightKind::Gate, WeightKind::Up,
                                  WeightKind::Down};

// HF row index for GGUF row r of a Q/K weight (per head of size d): GGUF
// (adjacent) row 2i <-> HF (half-split) row i, 2i+1 <-> d/2 + i.
int64_t hf_row_of_gguf_row(int64_t r, int d) {
  const int64_t head = r / d, j = r % d;
  return head * d + (j % 2 == 0 ? j / 2 : d / 2 + j / 2);
}

}  // namespace

TEST(OpenModel, DefaultSmolLM2) {
  if (!fs::exists(smollm_gguf())) GTEST_SKIP() << "run scripts/fetch_model.sh";
  auto m = open_model(smollm_gguf());
  const ModelDesc& d = m->desc();
  EXPECT_EQ(d.format, "gguf");
  EXPECT_EQ(d.architecture, "llama");
  EXPECT_EQ(d.n_layers, 30);
  EXPECT_EQ(d.n_heads, 9);
  EXPECT_EQ(d.n_kv_heads, 3);
  EXPECT_EQ(d.head_dim, 64);
  EXPECT_EQ(d.hidden, 576);
  EXPECT_EQ(d.ffn, 1536);
  EXPECT_EQ(d.vocab, 49152);
  EXPECT_EQ(d.rope.theta, 100000.0);
  EXPECT_TRUE(d.tied_embeddings);
  EXPECT_EQ(d.rope_layout, RopeLayout::Adjacent);
  EXPECT_EQ(d.gqa_group(), 3);
  EXPECT_EQ(d.kv_head_of(8), 2);
  EXPECT_GE(d.bos_id, 0);
  EXPECT_FALSE(m->has(WeightKind::Output));
  EXPECT_EQ(&m->output_weight(), &m->tensor(WeightKind::TokenEmbedding));
  EXPECT_EQ(m->tensor(WeightKind::TokenEmbedding).dtype, DType::Q8_0);
  const TensorView& q = m->tensor(WeightKind::Q, 29);
  EXPECT_EQ(q.rows, 576);
  EXPECT_EQ(q.cols, 576);
  EXPECT_EQ(m->tensor(WeightKind::K, 0).rows, 192);
  EXPECT_EQ(m->tensor(WeightKind::Down, 3).rows, 576);
  EXPECT_EQ(m->tensor(WeightKind::Down, 3).cols, 1536);
  EXPECT_THROW(m->tensor(WeightKind::Q, 30), Error);
  EXPECT_THROW(m->tensor(WeightKind::Output), Error);
  const ParamCounts c = count_parameters(*m);
  EXPECT_EQ(c.embedding, 49152 * 576);
  EXPECT_EQ(c.output, 0);
  EXPECT_EQ(c.total(), 134515008);  // SmolLM2-135M
}

TEST(OpenModel, InspectJsonSubprocess) {
  if (!fs::exists(smollm_gguf())) GTEST_SKIP() << "run scripts/fetch_model.sh";
  auto r = run_command(quote(SPECTRA_EXE) + " inspect --json --model " + quote(smollm_gguf()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["layers"], 30);
  EXPECT_EQ(j["heads"], 9);
  EXPECT_EQ(j["kv_heads"], 3);
  EXPECT_EQ(j["head_dim"], 64);
  EXPECT_EQ(j["vocab"], 49152);
  EXPECT_EQ(j["gqa_group"], 3);
  EXPECT_EQ(j["rope"]["layout"], "adjacent");
  EXPECT_EQ(j["dtypes"]["token_embedding"]["Q8_0"], 1);
  EXPECT_EQ(j["dtypes"]["q"]["Q4_1"], 30);
  EXPECT_EQ(j["parameters"]["total"], 134515008);
  EXPECT_EQ(j["files"][0]["bytes"], fs::file_size(smollm_gguf()));

  auto t = run_command(quote(SPECTRA_EXE) + " inspect --model " + quote(smollm_gguf()));
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("GQA group 3"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("Q4_1 x30"), std::string::npos) << t.out;
}

TEST(OpenModel, Stories260kHfAndGgufHoldTheSameWeights) {
  auto hf = open_model(stories_hf());
  auto gg = open_model(stories_gguf());
  const ModelDesc &a = hf->desc(), &b = gg->desc();
  EXPECT_EQ(a.format, "safetensors");
  EXPECT_EQ(b.format, "gguf");
  EXPECT_EQ(a.rope_layout, RopeLayout::HalfSplit);
  EXPECT_EQ(b.rope_layout, RopeLayout::Adjacent);
  for (auto* d : {&a, &b}) {
    EXPECT_EQ(d->n_layers, 5);
    EXPECT_EQ(d->hidden, 64);
    EXPECT_EQ(d->n_heads, 8);
    EXPECT_EQ(d->n_kv_heads, 4);
    EXPECT_EQ(d->head_dim, 8);
    EXPECT_EQ(d->ffn, 172);
    EXPECT_EQ(d->vocab, 512);
    EXPECT_TRUE(d->tied_embeddings);
    EXPECT_EQ(d->bos_id, 1);
    EXPECT_EQ(d->eos_id, 2);
    EXPECT_FLOAT_EQ(d->rms_eps, 1e-5f);
    EXPECT_EQ(d->rope.theta, 10000.0);
  }
  auto same = [](const TensorView& x, const TensorView& y) {
    ASSERT_EQ(x.rows, y.rows) << x.name;
    ASSERT_EQ(x.cols, y.cols) << x.name;
    EXPECT_EQ(rows_f32(x), rows_f32(y)) << x.name << " vs " << y.name;
  };
  same(hf->tensor(WeightKind::TokenEmbedding), gg->tensor(WeightKind::TokenEmbedding));
  same(hf->tensor(WeightKind::OutputNorm), gg->tensor(WeightKind::OutputNorm));
  int permuted_checked = 0;
  for (int l = 0; l < 5; ++l) {
    for (WeightKind k : kLayerKinds) {
      const TensorView &x = hf->tensor(k, l), &y = gg->tensor(k, l);
      if (k != WeightKind::Q && k != WeightKind::K) {
        same(x, y);
        continue;
      }
      // Q/K: same rows after the per-head half-split <-> adjacent permutation,
      // and not the same rows without it.
      const auto hx = rows_f32(x), gy = rows_f32(y);
      ASSERT_EQ(x.rows, y.rows);
      EXPECT_NE(hx, gy) << "Q/K rows should differ in order between HF and GGUF";
      for (int64_t r = 0; r < y.rows; ++r) {
        const int64_t hr = hf_row_of_gguf_row(r, a.head_dim);
        ASSERT_EQ(std::memcmp(&gy[r * y.cols], &hx[hr * x.cols], y.cols * 4), 0)
            << to_string(k) << " layer " << l << " gguf row " << r << " hf row " << hr;
      }
      ++permuted_checked;
    }
  }
  EXPECT_EQ(permuted_checked, 10);
}

TEST(OpenModel, ShardedFolderLoadsIdentically) {
  TempDir tmp;
  const std::string dir = tmp / "sharded";
  fs::create_directories(dir);
  fs::copy_file(stories_hf() + "/config.json", dir + "/config.json");
  const StFile whole = read_st(stories_hf() + "/model.safetensors");
  // Split the tensors alternately across two shards, repacking the data.
  StFile shard[2];
  nlohmann::json weight_map = nlohmann::json::object();
  int i = 0;
  for (auto it = whole.header.begin(); it != whole.header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const int s = i++ % 2;
    const uint64_t b = it.value()["data_offsets"][0], e = it.value()["data_offsets"][1];
    nlohmann::json entry = it.value();
    const uint64_t nb = shard[s].data.size();
    entry["data_offsets"] = {nb, nb + (e - b)};
    shard[s].header[it.key()] = entry;
    shard[s].data.insert(shard[s].data.end(), whole.data.begin() + static_cast<long>(b),
                         whole.data.begin() + static_cast<long>(e));
    weight_map[it.key()] = s == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  write_st(dir + "/model-00001-of-00002.safetensors", shard[0]);
  write_st(dir + "/model-00002-of-00002.safetensors", shard[1]);
  write_text(dir + "/model.safetensors.index.json",
             nlohmann::json{{"metadata", {{"total_size", whole.data.size()}}}, {"weight_map", weight_map}}.dump());

  auto single = open_model(stories_hf());
  auto sharded = open_model(dir);
  EXPECT_EQ(sharded->desc().files.size(), 2u);
  EXPECT_EQ(sharded->all_tensors().size(), single->all_tensors().size());
  int compared = 0;
  for (const auto& [kind, layer] :
       std::vector<std::pair<WeightKind, int>>{{WeightKind::TokenEmbedding, -1}, {WeightKind::OutputNorm, -1}}) {
    EXPECT_EQ(rows_f32(single->tensor(kind, layer)), rows_f32(sharded->tensor(kind, layer)));
    ++compared;
  }
  for (int l = 0; l < 5; ++l)
    for (WeightKind k : kLayerKinds) {
      EXPECT_EQ(rows_f32(single->tensor(k, l)), rows_f32(sharded->tensor(k, l))) << to_string(k) << l;
      ++compared;
    }
  EXPECT_EQ(compared, 2 + 5 * 9);
  // Both shards are really used.
  std::set<std::string> files;
  for (int l = 0; l < 5; ++l)
    for (WeightKind k : kLayerKinds) files.insert(sharded->tensor(k, l).file);
  EXPECT_EQ(files.size(), 2u);

  // An index naming a missing shard.
  fs::remove(dir + "/model-00002-of-00002.safetensors");
  try {
    open_model(dir);
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("model.safetensors.index.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("shard 'model-00002-of-00002.safetensors' does not exist"), std::string::npos) << msg;
  }
  auto r = run_command(quote(SPECTRA_EXE) + " inspect --model " + quote(dir));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("spectra: error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("model-00002-of-00002.safetensors"), std::string::npos) << r.err;
}

TEST(OpenModel, InspectTextOnHfFolder) {
  auto m = open_model(stories_hf());
  const std::string text = summary_text(*m);
  EXPECT_NE(text.find("half-split"), std::string::npos) << text;
  EXPECT_NE(text.find("F32 x5"), std::string::npos) << text;
  EXPECT_NE(text.find("output (tied)"), std::string::npos) << text;
  const auto j = summary_json(*m);
  const auto& p = j["parameters"];
  EXPECT_EQ(p["embedding"], 512 * 64);
  EXPECT_EQ(p["attention"], 5 * (64 * 64 * 2 + 32 * 64 * 2));
  EXPECT_EQ(p["mlp"], 5 * 3 * 64 * 172);
  EXPECT_EQ(p["norms"], 5 * 2 * 64 + 64);
  EXPECT_EQ(p["output"], 0);
}

TEST(OpenModel, Qwen2FolderBindsBiases) {
  // stories260k relabelled as Qwen2 with q/k/v biases appended.
  TempDir tmp;
  const std::string dir = tmp / "qwen2";
  copy_folder(stories_hf(), dir);
  auto cfg = nlohmann::json::parse(read_text(dir + "/config.json"));
  cfg["architectures"] = {"Qwen2ForCausalLM"};
  cfg["model_type"] = "qwen2";
  write_text(dir + "/config.json", cfg.dump());
  StFile f = read_st(dir + "/model.safetensors");
  for (int l = 0; l < 5; ++l)
    for (auto [proj, n] : {std::pair{"q", 64}, std::pair{"k", 32}, std::pair{"v", 32}}) {
      const uint64_t b = f.data.size();
      for (int i = 0; i < n; ++i) {
        const float x = static_cast<float>(l * 1000 + i);
        const auto* p = reinterpret_cast<const uint8_t*>(&x);
        f.data.insert(f.data.end(), p, p + 4);
      }
      f.header["model.layers." + std::to_string(l) + ".self_attn." + proj + "_proj.bias"] = {
          {"dtype", "F32"}, {"shape", {n}}, {"data_offsets", {b, f.data.size()}}};
    }
  write_st(dir + "/model.safetensors", f);
  auto m = open_model(dir);
  EXPECT_EQ(m->desc().architecture, "qwen2");
  EXPECT_TRUE(m->desc().qkv_bias);
  EXPECT_FALSE(m->desc().add_bos);
  ASSERT_TRUE(m->has(WeightKind::KBias, 4));
  const auto kb = rows_f32(m->tensor(WeightKind::KBias, 4));
  ASSERT_EQ(kb.size(), 32u);
  EXPECT_EQ(kb[31], 4031.0f);
  // A missing bias is a missing tensor.
  f.header.erase("model.layers.2.self_attn.v_proj.bias");
  write_st(dir + "/model.safetensors", f);
  try {
    open_model(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing tensor 'model.layers.2.self_attn.v_proj.bias'"), std::string::npos)
        << e.what();
  }
}

TEST(OpenModel, GgufWrittenByGgufPackageWithQuantizedWeightsAndRopeFreqs) {
  TempDir tmp;
  auto r = run_command(std::string(SPECTRA_PYTHON) + " " + quote(tests_dir() + "/make_gguf_variants.py") + " " +
                       quote(stories_gguf()) + " " + quote(tmp.path()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto m = open_model(tmp / "quantized.gguf");
  const ModelDesc& d = m->desc();
  EXPECT_EQ(d.n_layers, 5);
  EXPECT_EQ(d.rope.freq_divisors, (std::vector<float>{1, 2, 4, 8}));
  EXPECT_EQ(d.rope.scaling, RopeScalingType::Llama3);
  EXPECT_EQ(d.rope.factor, 8.0);
  std::set<std::string> types;
  int checked = 0;
  for (const auto& t : m->all_tensors()) {
    types.insert(to_string(t.dtype));
    const auto ref = read_bytes(tmp / (t.name + ".ref"));
    const auto got = rows_f32(t);
    ASSERT_EQ(ref.size(), got.size() * 4) << t.name;
    EXPECT_EQ(std::memcmp(ref.data(), got.data(), ref.size()), 0) << t.name;
    ++checked;
  }
  EXPECT_EQ(checked, 48);
  EXPECT_EQ(types, (std::set<std::string>{"F32", "F16", "BF16", "Q8_0"}));
  EXPECT_EQ(m->tensor(WeightKind::Q, 0).dtype, DType::Q8_0);
  EXPECT_EQ(m->tensor(WeightKind::Q, 2).dtype, DType::BF16);
  const auto j = summary_json(*m);
  EXPECT_EQ(j["unused_tensors"], nlohmann::json::array({"rope_freqs.weight"}));
}
