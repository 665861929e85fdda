// GgufFile: real files (stories260k, the default SmolLM2 model, vocab-only
// files) and hand-built broken ones; every error must name file and offset.
#include <gtest/gtest.h>

#include <cmath>

#include "formats/gguf.hpp"
#include "gguf_builder.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using namespace spectra;
using namespace spectra::test;

namespace {

// Expects GgufFile(path) to throw an Error whose message contains every needle.
void expect_gguf_error(const std::string& path, std::initializer_list<std::string> needles) {
  try {
    GgufFile f(path);
    FAIL() << "no error for " << path;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  }
}

std::vector<uint8_t> f32_bytes(std::initializer_list<float> v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), std::data(v), b.size());
  return b;
}

GgufBuilder small_file() {
  GgufBuilder b;
  b.kv_string("general.architecture", "llama");
  b.kv_u32("llama.block_count", 2);
  b.kv_f32("llama.rope.freq_base", 10000.0f);
  b.kv_bool("tokenizer.ggml.add_bos_token", false);
  b.kv_string_array("tokenizer.ggml.tokens", {"<s>", "a", "b"});
  b.tensor("a", {4, 2}, 0, f32_bytes({1, 2, 3, 4, 5, 6, 7, 8}));
  b.tensor("b", {3}, 0, f32_bytes({9, 10, 11}));
  return b;
}

}  // namespace

TEST(GgufFile, Stories260k) {
  GgufFile f(stories_gguf());
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_int("llama.block_count"), 5);
  EXPECT_EQ(f.get_int("llama.embedding_length"), 64);
  EXPECT_EQ(f.data_offset() % f.alignment(), 0u);
  const auto* emb = f.find_tensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  ASSERT_EQ(emb->dims.size(), 2u);
  EXPECT_EQ(emb->dims[0], 64u);
  EXPECT_EQ(emb->dims[1], 512u);
  TensorView v = f.view(*emb);
  EXPECT_EQ(v.rows, 512);
  EXPECT_EQ(v.cols, 64);
  EXPECT_EQ(v.nbytes, 512u * 64u * 4u);
  EXPECT_EQ(v.dtype, DType::F32);
  EXPECT_EQ(f.find_tensor("nope"), nullptr);
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens").size(), 512u);
}

TEST(GgufFile, DefaultModelMetadataAndTypes) {
  if (!fs::exists(smollm_gguf())) GTEST_SKIP() << "run scripts/fetch_model.sh";
  GgufFile f(smollm_gguf());
  EXPECT_EQ(f.get_int("llama.block_count"), 30);
  EXPECT_EQ(f.get_int("llama.attention.head_count"), 9);
  EXPECT_EQ(f.get_int("llama.attention.head_count_kv"), 3);
  EXPECT_EQ(f.get_int("llama.embedding_length"), 576);
  EXPECT_NEAR(f.get_float("llama.rope.freq_base"), 100000.0, 1e-6);
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens").size(), 49152u);
  const auto* emb = f.find_tensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->dtype, DType::Q8_0);
  EXPECT_EQ(f.view(*emb).rows, 49152);
  const auto* down = f.find_tensor("blk.0.ffn_down.weight");
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->dtype, DType::Q4_1);
  TensorView dv = f.view(*down);
  EXPECT_EQ(dv.rows, 576);
  EXPECT_EQ(dv.cols, 1536);
  // Typed getter errors name the file and the field.
  try {
    f.get_int("general.architecture");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("field 'general.architecture'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(f.get_string("no.such.key"), Error);
  EXPECT_FALSE(f.opt_int("no.such.key").has_value());
}

TEST(GgufFile, VocabOnlyFilesLoad) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(shared_dir() + "/vocab")) {
    if (e.path().extension() != ".gguf") continue;
    SCOPED_TRACE(e.path().string());
    GgufFile f(e.path().string());
    EXPECT_TRUE(f.tensors().empty());
    EXPECT_GT(f.get_string_array("tokenizer.ggml.tokens").size(), 100u);
    ++n;
  }
  EXPECT_GT(n, 0);
}

TEST(GgufFile, BuiltFileRoundTrips) {
  TempDir tmp;
  auto b = small_file();
  write_bytes(tmp / "ok.gguf", b.build());
  GgufFile f(tmp / "ok.gguf");
  EXPECT_EQ(f.get_int("llama.block_count"), 2);
  EXPECT_FALSE(f.get_bool("tokenizer.ggml.add_bos_token"));
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens")[2], "b");
  ASSERT_EQ(f.tensors().size(), 2u);
  auto v = f.view(f.tensors()[0]);
  EXPECT_EQ(v.rows, 2);
  EXPECT_EQ(v.cols, 4);
  float x[8];
  convert_rows_f32(v, 0, 2, x);
  EXPECT_EQ(x[7], 8.0f);
  auto w = f.view(*f.find_tensor("b"));
  EXPECT_EQ(w.rows, 1);
  EXPECT_EQ(w.cols, 3);
  EXPECT_EQ(w.ndim, 1);

  // Version 2 has the same layout.
  b.version = 2;
  write_bytes(tmp / "v2.gguf", b.build());
  EXPECT_EQ(GgufFile(tmp / "v2.gguf").version(), 2u);

  // Custom alignment.
  GgufBuilder c = small_file();
  c.alignment = 64;
  c.kv_u32("general.alignment", 64);
  write_bytes(tmp / "a64.gguf", c.build());
  GgufFile fa(tmp / "a64.gguf");
  EXPECT_EQ(fa.alignment(), 64u);
  EXPECT_EQ(fa.data_offset() % 64, 0u);
  float y[3];
  convert_rows_f32(fa.view(*fa.find_tensor("b")), 0, 1, y);
  EXPECT_EQ(y[2], 11.0f);
}

TEST(GgufFile, MalformedFilesGiveClearErrors) {
  TempDir tmp;
  auto b = small_file();
  const auto good = b.build();

  {  // Truncated at every prefix length of the header: an Error, never a crash.
    for (size_t n : {size_t{0}, size_t{3}, size_t{10}, size_t{30}, b.offset_field_pos[1], b.data_start + 8}) {
      std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<long>(n));
      write_bytes(tmp / "cut.gguf", cut);
      SCOPED_TRACE(n);
      EXPECT_THROW(GgufFile(tmp / "cut.gguf"), Error);
    }
    for (size_t n = 0; n < b.data_start; ++n) {
      std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<long>(n));
      write_bytes(tmp / "cut.gguf", cut);
      EXPECT_THROW(GgufFile(tmp / "cut.gguf"), Error) << n;
    }
    std::vector<uint8_t> cut(good.begin(), good.begin() + 30);
    write_bytes(tmp / "cut.gguf", cut);
    expect_gguf_error(tmp / "cut.gguf", {"at offset 16", "metadata count"});
    std::vector<uint8_t> cut2(good.begin(), good.begin() + static_cast<long>(b.offset_field_pos[1]));
    write_bytes(tmp / "cut2.gguf", cut2);
    expect_gguf_error(tmp / "cut2.gguf", {"at offset", "truncated"});
  }
  {  // Bad magic.
    auto bad = good;
    bad[0] = 'X';
    write_bytes(tmp / "magic.gguf", bad);
    expect_gguf_error(tmp / "magic.gguf", {"at offset 0", "magic"});
  }
  {  // Unsupported version.
    auto bad = good;
    GgufBuilder::poke<uint32_t>(bad, 4, 7);
    write_bytes(tmp / "ver.gguf", bad);
    expect_gguf_error(tmp / "ver.gguf", {"at offset 4", "version 7"});
  }
  {  // Absurd tensor count.
    auto bad = good;
    GgufBuilder::poke<uint64_t>(bad, 8, uint64_t{1} << 60);
    write_bytes(tmp / "count.gguf", bad);
    expect_gguf_error(tmp / "count.gguf", {"at offset 8", "tensor count"});
  }
  {  // Tensor data offset out of range.
    auto bad = good;
    GgufBuilder::poke<uint64_t>(bad, b.offset_field_pos[1], 4096);
    write_bytes(tmp / "range.gguf", bad);
    expect_gguf_error(tmp / "range.gguf", {"tensor 'b'", "outside the file"});
  }
  {  // Overlapping tensors.
    auto bad = good;
    GgufBuilder::poke<uint64_t>(bad, b.offset_field_pos[1], 0);
    write_bytes(tmp / "overlap.gguf", bad);
    expect_gguf_error(tmp / "overlap.gguf", {"overlaps"});
  }
  {  // Unaligned offset.
    auto bad = good;
    GgufBuilder::poke<uint64_t>(bad, b.offset_field_pos[1], 4);
    write_bytes(tmp / "unaligned.gguf", bad);
    expect_gguf_error(tmp / "unaligned.gguf", {"alignment"});
  }
  {  // Unknown tensor type: loads, but view() names it.
    GgufBuilder c;
    c.tensor("q2", {256}, 10, std::vector<uint8_t>(84));
    write_bytes(tmp / "q2k.gguf", c.build());
    GgufFile f(tmp / "q2k.gguf");
    EXPECT_FALSE(f.tensors()[0].supported);
    try {
      f.view(f.tensors()[0]);
      FAIL();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("Q2_K"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("at offset"), std::string::npos) << e.what();
    }
  }
  {  // Unknown metadata value type.
    GgufBuilder c;
    uint32_t v = 0;
    c.kv_raw("weird", 42, &v, 4);
    write_bytes(tmp / "kvtype.gguf", c.build());
    expect_gguf_error(tmp / "kvtype.gguf", {"'weird'", "unknown value type 42", "at offset 37"});
  }
  {  // A string length past the end of the file.
    auto bad = good;
    GgufBuilder::poke<uint64_t>(bad, 24, uint64_t{1} << 40);
    write_bytes(tmp / "strlen.gguf", bad);
    expect_gguf_error(tmp / "strlen.gguf", {"at offset 24", "string length"});
  }
  {  // Bad alignment value.
    GgufBuilder c;
    c.kv_u32("general.alignment", 48);
    write_bytes(tmp / "align.gguf", c.build());
    expect_gguf_error(tmp / "align.gguf", {"general.alignment", "power of two"});
  }
  {  // Innermost dimension not a multiple of the block size.
    GgufBuilder c;
    c.tensor("q", {48}, 8, std::vector<uint8_t>(68));
    write_bytes(tmp / "blk.gguf", c.build());
    expect_gguf_error(tmp / "blk.gguf", {"tensor 'q'", "block size"});
  }
  {  // Not a file at all.
    expect_gguf_error(tmp / "missing.gguf", {"cannot open"});
  }
}
