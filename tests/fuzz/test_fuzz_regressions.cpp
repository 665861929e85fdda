// Replays, through the fuzz targets (fuzz/), every input committed under
// tests/fuzz_regressions/<target>/ (minimised fuzzer findings, each once a
// crash, hang, unbounded allocation or broken invariant), and a few hostile
// inputs too large to commit, built here. Each must end in a spectra::Error or
// success; a crash, a sanitizer report or a broken invariant (abort) fails the
// test binary. Run it under ASan/UBSan too (scripts/test.sh).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "../formats/gguf_builder.hpp"
#include "formats/weights.hpp"
#include "targets.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;
using spectra::fuzz::Bytes;

namespace {

const std::string kRegressions = std::string(SPECTRA_SOURCE_DIR) + "/tests/fuzz_regressions";

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void (*target_named(const std::string& name))(Bytes) {
  for (const auto& t : spectra::fuzz::targets())
    if (name == t.name) return t.run;
  return nullptr;
}

// The tokenizer target runs the same real vocabularies as scripts/fuzz.sh.
class FuzzEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(std::string(SPECTRA_SHARED_DIR) + "/vocab"))
      if (e.path().extension() == ".gguf") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    ASSERT_FALSE(files.empty()) << "no vocab GGUFs in " << SPECTRA_SHARED_DIR << "/vocab";
    spectra::fuzz::set_tokenizer_files(files);
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new FuzzEnvironment);

// Outcome of one input: "" (accepted), the Error's text, or a non-Error exception.
std::string outcome(void (*run)(Bytes), const std::vector<uint8_t>& data) {
  try {
    run(Bytes(data.data(), data.size()));
    return "";
  } catch (const spectra::Error& e) {
    return e.what();
  }
}

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

TEST(FuzzRegressions, EveryCommittedInputIsRefusedOrAcceptedCleanly) {
  ASSERT_TRUE(fs::is_directory(kRegressions)) << kRegressions;
  int replayed = 0;
  for (const auto& dir : fs::directory_iterator(kRegressions)) {
    if (!dir.is_directory()) continue;
    const std::string name = dir.path().filename().string();
    auto run = target_named(name);
    ASSERT_NE(run, nullptr) << "tests/fuzz_regressions/" << name << " names no fuzz target";
    for (const auto& f : fs::directory_iterator(dir.path())) {
      if (!f.is_regular_file() || f.path().filename().string()[0] == '.') continue;
      SCOPED_TRACE(f.path().string());
      const auto data = read_bytes(f.path());
      EXPECT_NO_THROW(outcome(run, data));
      ++replayed;
    }
  }
  EXPECT_GT(replayed, 0);
}

// Nesting deep enough to overflow the stack of any recursive walk.
TEST(FuzzRegressions, DeeplyNestedJsonIsRefusedWithTheField) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  const std::string cfg = R"({"architectures": )" + deep + "}";
  EXPECT_NE(outcome(spectra::fuzz::hf_config, bytes(cfg)).find("field 'architectures'"), std::string::npos);

  std::string header = R"({"w": {"dtype": "F32", "shape": [)" + deep + R"(], "data_offsets": [0, 0]}})";
  std::string st(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(st.data(), &n, 8);
  EXPECT_NE(outcome(spectra::fuzz::safetensors, bytes(st + header)).find("field 'w.shape'"), std::string::npos);

  std::string pre;
  for (int i = 0; i < 50000; ++i) pre += R"({"type": "Sequence", "pretokenizers": [)";
  pre += "null";
  for (int i = 0; i < 50000; ++i) pre += "]}";
  const std::string tj = R"({"model": {"type": "BPE", "vocab": {"a": 0}}, "pre_tokenizer": )" + pre + "}";
  EXPECT_NE(outcome(spectra::fuzz::tokenizer_json, bytes(tj)).find("nested more than"), std::string::npos);
}

TEST(FuzzRegressions, DeeplyNestedNpyHeaderIsRefusedWithTheOffset) {
  const std::string dict = "{'descr': " + std::string(60000, '[') + "}";
  std::string npy("\x93NUMPY\x01\x00", 8);
  npy += static_cast<char>(dict.size() & 0xff);
  npy += static_cast<char>(dict.size() >> 8);
  npy += dict;
  const std::string msg = outcome(spectra::fuzz::npy, bytes(npy));
  EXPECT_NE(msg.find("nested more than"), std::string::npos) << msg;
}

// The issue's examples: counts and lengths no file could hold are refused
// before anything is allocated for them.
TEST(FuzzRegressions, AbsurdGgufCountsAreRefusedCheaply) {
  auto header = [](uint64_t n_tensors, uint64_t n_kv) {
    std::vector<uint8_t> b(24);
    std::memcpy(b.data(), "GGUF", 4);
    const uint32_t v = 3;
    std::memcpy(b.data() + 4, &v, 4);
    std::memcpy(b.data() + 8, &n_tensors, 8);
    std::memcpy(b.data() + 16, &n_kv, 8);
    return b;
  };
  const auto many_tensors = header(uint64_t{1} << 63, 0);
  EXPECT_NE(outcome(spectra::fuzz::gguf, many_tensors).find("tensor count 9223372036854775808"), std::string::npos);

  auto long_key = header(0, 1);
  const uint64_t len = (uint64_t{1} << 63) - 1;
  long_key.resize(64);  // room for the count check: the length itself must be what fails
  std::memcpy(long_key.data() + 24, &len, 8);
  EXPECT_NE(outcome(spectra::fuzz::gguf, long_key).find("string length 9223372036854775807"), std::string::npos);
}

TEST(FuzzRegressions, ModelClaimingABillionLayersFailsAtTheFirstMissingTensor) {
  spectra::test::GgufBuilder g;
  g.kv_string("general.architecture", "llama");
  g.kv_u32("llama.block_count", 1u << 30);
  g.kv_u32("llama.embedding_length", 16);
  g.kv_u32("llama.feed_forward_length", 16);
  g.kv_u32("llama.attention.head_count", 2);
  g.kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  g.kv_u32("llama.vocab_size", 4);
  const auto data = g.build();
  const std::string path = spectra::fuzz::scratch_file("layers.gguf", Bytes(data.data(), data.size()));
  try {
    spectra::open_model(path);
    FAIL() << "accepted";
  } catch (const spectra::Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing tensor 'token_embd.weight'"), std::string::npos) << e.what();
  }
}

TEST(FuzzRegressions, TokenizerJsonWithAHugeSparseIdIsRefused) {
  const std::string tj = R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 99999999}}, "pre_tokenizer": {"type": "ByteLevel"}})";
  const std::string msg = outcome(spectra::fuzz::tokenizer_json, bytes(tj));
  EXPECT_NE(msg.find("field 'model.vocab': token id 99999999 leaves most of the id range unused"), std::string::npos)
      << msg;
}

// A metadata value takes ~40 bytes in memory whatever its size on disk: 16M
// one-byte elements would cost 670 MB. The element count is capped.
TEST(FuzzRegressions, HugeGgufMetadataArrayIsRefusedBeforeAllocating) {
  spectra::test::GgufBuilder g;
  const uint64_t n = (uint64_t{1} << 24) + 1;
  std::vector<uint8_t> arr(12 + n, 0);
  const uint32_t i8 = 1;
  std::memcpy(arr.data(), &i8, 4);
  std::memcpy(arr.data() + 4, &n, 8);
  g.kv_raw("big", 9, arr.data(), arr.size());
  const auto data = g.build();
  const std::string msg = outcome(spectra::fuzz::gguf, data);
  EXPECT_NE(msg.find("metadata 'big': array length 16777217 brings the file's metadata arrays over 16777216"),
            std::string::npos) << msg;
}
