// spectra inspect --figures: per-head Frobenius norms of W_Q/W_K/W_V/W_O
// and value histograms. The HF (half-split rows) and GGUF (adjacent rows)
// forms of stories260k must give the same norms; a bf16 copy of the HF
// safetensors (written here) must give nearly the same; the quantized
// SmolLM2 GGUF is read block by block (skipped when absent).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "dissect/weight_norms.hpp"
#include "formats/weights.hpp"
#include "test_support.hpp"

using namespace spectra;
using namespace spectra::dissect;

namespace fs = std::filesystem;

namespace {

const WeightNorms& hf_norms() {
  static WeightNorms w = compute_weight_norms(*open_model(test::kHf));
  return w;
}
const WeightNorms& gguf_norms() {
  static WeightNorms w = compute_weight_norms(*open_model(test::kGguf));
  return w;
}

std::map<std::string, double> read_norms_csv(const std::string& path) {
  std::map<std::string, double> m;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    const auto p = line.rfind(',');
    m[line.substr(0, p)] = std::stod(line.substr(p + 1));
  }
  return m;
}

// A copy of the HF folder whose safetensors holds every F32 tensor as BF16
// (round to nearest even).
std::string make_bf16_copy() {
  const std::string dir = test::temp_dir("stories260k_bf16");
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(test::kHf + "/config.json", dir + "/config.json");
  std::ifstream in(test::kHf + "/model.safetensors", std::ios::binary);
  std::vector<uint8_t> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t hn = 0;
  std::memcpy(&hn, b.data(), 8);
  auto header = nlohmann::json::parse(b.begin() + 8, b.begin() + 8 + static_cast<long>(hn));
  const uint8_t* data = b.data() + 8 + hn;
  std::vector<uint8_t> out_data;
  nlohmann::json out_header = nlohmann::json::object();
  for (auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      out_header[name] = info;
      continue;
    }
    const uint64_t b0 = info["data_offsets"][0], b1 = info["data_offsets"][1];
    EXPECT_EQ(info["dtype"], "F32");
    const uint64_t start = out_data.size();
    for (uint64_t o = b0; o < b1; o += 4) {
      uint32_t u;
      std::memcpy(&u, data + o, 4);
      const uint32_t rounded = u + 0x7FFF + ((u >> 16) & 1);
      const uint16_t h = static_cast<uint16_t>(rounded >> 16);
      out_data.push_back(static_cast<uint8_t>(h & 0xFF));
      out_data.push_back(static_cast<uint8_t>(h >> 8));
    }
    out_header[name] = {{"dtype", "BF16"}, {"shape", info["shape"]}, {"data_offsets", {start, out_data.size()}}};
  }
  const std::string hs = out_header.dump();
  std::ofstream out(dir + "/model.safetensors", std::ios::binary);
  const uint64_t n = hs.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(hs.data(), static_cast<std::streamsize>(hs.size()));
  out.write(reinterpret_cast<const char*>(out_data.data()), static_cast<std::streamsize>(out_data.size()));
  return dir;
}

}  // namespace

TEST(DissectWeightNorms, ShapesAndDirectComputation) {
  const auto model = open_model(test::kHf);
  const WeightNorms& w = hf_norms();
  ASSERT_EQ(w.n_layers, 5);
  ASSERT_EQ(w.n_heads, 8);
  ASSERT_EQ(w.n_kv_heads, 4);
  ASSERT_EQ(w.head_dim, 8);
  EXPECT_EQ(w.norms[0].size(), 5u * 8);
  EXPECT_EQ(w.norms[1].size(), 5u * 4);
  EXPECT_EQ(w.norms[2].size(), 5u * 4);
  EXPECT_EQ(w.norms[3].size(), 5u * 8);
  // Direct: whole tensor, then slices by hand.
  const WeightKind kinds[4] = {WeightKind::Q, WeightKind::K, WeightKind::V, WeightKind::O};
  for (ProjKind pk : kProjKinds) {
    for (int l = 0; l < w.n_layers; ++l) {
      const TensorView& t = model->tensor(kinds[static_cast<int>(pk)], l);
      std::vector<float> all(static_cast<size_t>(t.numel()));
      convert_rows_f32(t, 0, t.rows, all.data());
      double total = 0;
      for (int h = 0; h < w.heads(pk); ++h) {
        double ss = 0;
        for (int64_t r = 0; r < t.rows; ++r)
          for (int64_t c = 0; c < t.cols; ++c) {
            const bool in = pk == ProjKind::O ? c / w.head_dim == h : r / w.head_dim == h;
            if (in) ss += double(all[r * t.cols + c]) * all[r * t.cols + c];
          }
        EXPECT_NEAR(w.norm(pk, l, h), std::sqrt(ss), 1e-9 * std::sqrt(ss)) << to_string(pk) << " " << l << " " << h;
        EXPECT_GT(w.norm(pk, l, h), 0);
        total += ss;
      }
      double ref = 0;
      for (float v : all) ref += double(v) * v;
      EXPECT_NEAR(total, ref, 1e-9 * ref);
    }
    const WeightHistogram& hg = w.hist[static_cast<int>(pk)];
    const uint64_t n = static_cast<uint64_t>(w.n_layers) * w.heads(pk) * w.head_dim * 64;
    EXPECT_EQ(hg.n, n);
    uint64_t counted = hg.below + hg.above;
    for (auto c : hg.counts) counted += c;
    EXPECT_EQ(counted, n);
    EXPECT_LE(hg.min, hg.lo);
    EXPECT_GE(hg.max, hg.hi);
  }
}

TEST(DissectWeightNorms, HfAndGgufAgree) {
  const WeightNorms &a = hf_norms(), &b = gguf_norms();
  EXPECT_EQ(a.format, "safetensors");
  EXPECT_EQ(b.format, "gguf");
  for (ProjKind pk : kProjKinds) {
    const int k = static_cast<int>(pk);
    ASSERT_EQ(a.norms[k].size(), b.norms[k].size());
    for (size_t i = 0; i < a.norms[k].size(); ++i)
      EXPECT_NEAR(a.norms[k][i], b.norms[k][i], 1e-6 * a.norms[k][i]) << to_string(pk) << " " << i;
    EXPECT_EQ(a.hist[k].n, b.hist[k].n);
    EXPECT_EQ(a.hist[k].min, b.hist[k].min);
    EXPECT_EQ(a.hist[k].max, b.hist[k].max);
    EXPECT_NEAR(a.hist[k].sd, b.hist[k].sd, 1e-9);
  }
}

TEST(DissectWeightNorms, Bf16SafetensorsCloseToF32) {
  const std::string dir = make_bf16_copy();
  const auto model = open_model(dir);
  ASSERT_EQ(model->tensor(WeightKind::Q, 0).dtype, DType::BF16);
  const WeightNorms w = compute_weight_norms(*model);
  EXPECT_EQ(w.dtype[0], "BF16");
  for (ProjKind pk : kProjKinds) {
    const int k = static_cast<int>(pk);
    for (size_t i = 0; i < w.norms[k].size(); ++i)
      EXPECT_NEAR(w.norms[k][i], hf_norms().norms[k][i], 4e-3 * hf_norms().norms[k][i]);
  }
}

TEST(DissectWeightNorms, QuantizedGgufSmolLM2) {
  const std::string path = std::string(SPECTRA_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!fs::exists(path)) GTEST_SKIP() << path << " not present";
  const WeightNorms w = compute_weight_norms(*open_model(path));
  EXPECT_EQ(w.n_layers, 30);
  EXPECT_EQ(w.heads(ProjKind::Q), 9);
  EXPECT_EQ(w.heads(ProjKind::K), 3);
  for (const auto& v : w.norms)
    for (double x : v) EXPECT_TRUE(std::isfinite(x) && x > 0);
  EXPECT_EQ(w.dtype[0], "Q4_1");
}

TEST(DissectInspectCli, FiguresForHfAndGgufWithMatchingNorms) {
  std::map<std::string, double> norms[2];
  int i = 0;
  for (const std::string& model : {test::kHf, test::kGguf}) {
    const std::string dir = test::temp_dir(i == 0 ? "inspect_hf" : "inspect_gguf");
    fs::remove_all(dir);
    std::string log;
    const int rc = test::run_spectra("inspect --model " + model + " --figures " + dir, &log);
    ASSERT_EQ(rc, 0) << log;
    EXPECT_NE(log.find("wrote 5 figures"), std::string::npos) << log;
    for (const char* f : {"weight_norms_q", "weight_norms_k", "weight_norms_v", "weight_norms_o", "weight_histograms"})
      for (const char* ext : {".png", ".svg"}) {
        const fs::path p = fs::path(dir) / (std::string(f) + ext);
        EXPECT_TRUE(fs::exists(p) && fs::file_size(p) > 1000) << p;
      }
    EXPECT_TRUE(fs::exists(fs::path(dir) / "weight_histograms.csv"));
    norms[i] = read_norms_csv(dir + "/weight_norms.csv");
    ++i;
  }
  ASSERT_EQ(norms[0].size(), 5u * (8 + 4 + 4 + 8));
  ASSERT_EQ(norms[0].size(), norms[1].size());
  for (const auto& [key, v] : norms[0]) {
    ASSERT_TRUE(norms[1].count(key)) << key;
    EXPECT_NEAR(v, norms[1][key], 1e-6 * v) << key;
  }
}
