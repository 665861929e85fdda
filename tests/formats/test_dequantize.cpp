// Dequantization of every GGUF type Spectra reads, against the PyPI `gguf`
// package's dequantize (tests/formats/make_dequant_reference.py) on quantized,
// random-valid and (if present) the default model's real blocks; plus
// convert_rows_f32/bf16 on views.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>
#include <sstream>

#include "formats/tensor.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/half.hpp"

using namespace spectra;
using namespace spectra::test;

namespace {

DType dtype_named(const std::string& s) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                  DType::Q5_1, DType::Q4_K, DType::Q5_K, DType::Q6_K})
    if (s == to_string(t)) return t;
  throw std::runtime_error("unknown dtype " + s);
}

struct Reference {
  TempDir dir;
  std::vector<std::string> lines;
  Reference() {
    std::string cmd = std::string(SPECTRA_PYTHON) + " " + quote(tests_dir() + "/make_dequant_reference.py") + " " +
                      quote(dir.path());
    if (fs::exists(smollm_gguf())) cmd += " " + quote(smollm_gguf());
    auto r = run_command(cmd);
    if (r.exit_code != 0) throw std::runtime_error("reference script failed: " + r.err);
    std::istringstream in(read_text(dir / "manifest.txt"));
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) lines.push_back(line);
  }
};

const Reference& reference() {
  static Reference r;
  return r;
}

}  // namespace

TEST(Dequantize, BlockGeometry) {
  EXPECT_EQ(block_bytes(DType::Q8_0), 34);
  EXPECT_EQ(block_bytes(DType::Q4_0), 18);
  EXPECT_EQ(block_bytes(DType::Q4_1), 20);
  EXPECT_EQ(block_bytes(DType::Q5_0), 22);
  EXPECT_EQ(block_bytes(DType::Q5_1), 24);
  EXPECT_EQ(block_bytes(DType::Q4_K), 144);
  EXPECT_EQ(block_bytes(DType::Q5_K), 176);
  EXPECT_EQ(block_bytes(DType::Q6_K), 210);
  EXPECT_EQ(block_elems(DType::Q6_K), 256);
  EXPECT_EQ(storage_bytes(DType::Q4_1, 576), 18u * 20u);
  EXPECT_THROW(storage_bytes(DType::Q4_K, 100), Error);
  EXPECT_STREQ(to_string(DType::Q5_K), "Q5_K");
}

TEST(Dequantize, MatchesGgufPackageForEveryType) {
  const auto& ref = reference();
  std::set<std::string> covered;
  for (const auto& line : ref.lines) {
    std::istringstream ls(line);
    std::string name, tname;
    int64_t n = 0;
    ls >> name >> tname >> n;
    SCOPED_TRACE(name);
    const DType t = dtype_named(tname);
    const auto q = read_bytes(ref.dir / (name + ".q"));
    const auto rb = read_bytes(ref.dir / (name + ".ref"));
    ASSERT_EQ(q.size(), storage_bytes(t, static_cast<uint64_t>(n)));
    ASSERT_EQ(rb.size(), static_cast<size_t>(n) * 4);
    std::vector<float> expect(static_cast<size_t>(n)), got(static_cast<size_t>(n), NAN);
    std::memcpy(expect.data(), rb.data(), rb.size());
    dequantize(t, q.data(), n, got.data());
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float e = expect[i], g = got[i];
      const bool ok = (e == g) || (std::isnan(e) && std::isnan(g)) ||
                      std::fabs(e - g) <= 1e-6f * std::max(std::fabs(e), std::fabs(g));
      if (!ok && bad++ < 5) ADD_FAILURE() << name << "[" << i << "]: expected " << e << " got " << g;
    }
    EXPECT_EQ(bad, 0);
    covered.insert(tname);

    // The same bytes as a [rows, cols] view through convert_rows_*.
    const int64_t cols = block_elems(t) == 256 ? 256 : 64;
    if (n % cols == 0) {
      TensorView v;
      v.name = name;
      v.dtype = t;
      v.rows = n / cols;
      v.cols = cols;
      v.data = q.data();
      v.nbytes = q.size();
      std::vector<float> rows_f32(static_cast<size_t>((v.rows - 1) * cols));
      convert_rows_f32(v, 1, v.rows, rows_f32.data());
      std::vector<uint16_t> rows_bf16(rows_f32.size());
      convert_rows_bf16(v, 1, v.rows, rows_bf16.data());
      for (size_t i = 0; i < rows_f32.size(); ++i) {
        ASSERT_EQ(std::memcmp(&rows_f32[i], &got[cols + i], 4), 0) << i;
        ASSERT_EQ(rows_bf16[i], f32_to_bf16(got[cols + i])) << i;
      }
    }
  }
  EXPECT_EQ(covered.size(), 11u) << "every DType must be covered";
  if (fs::exists(smollm_gguf())) {
    int model_cases = 0;
    for (const auto& line : ref.lines) model_cases += line.rfind("model_", 0) == 0;
    EXPECT_GE(model_cases, 2) << "Q8_0 and Q4_1 tensors of the default model";
  }
}

TEST(Dequantize, ConvertRowsChecksRange) {
  std::vector<uint8_t> bytes(2 * 64 * 4, 0);
  TensorView v;
  v.name = "w";
  v.file = "f";
  v.dtype = DType::F32;
  v.rows = 2;
  v.cols = 64;
  v.data = bytes.data();
  v.nbytes = bytes.size();
  std::vector<float> out(64 * 3);
  EXPECT_THROW(convert_rows_f32(v, 0, 3, out.data()), Error);
  EXPECT_THROW(convert_rows_f32(v, -1, 1, out.data()), Error);
  v.nbytes = 100;
  EXPECT_THROW(convert_rows_f32(v, 0, 2, out.data()), Error);
}

TEST(Dequantize, LargeConversionIsParallelAndCorrect) {
  // Big enough to take the OpenMP path: 1024 rows x 2048 Q4_0 columns.
  const int64_t rows = 1024, cols = 2048;
  std::vector<uint8_t> bytes(storage_bytes(DType::Q4_0, rows * cols));
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 131 + 7);
  for (size_t b = 0; b < bytes.size(); b += 18) {
    const uint16_t d = 0x2e66;  // 0.1 in f16
    std::memcpy(&bytes[b], &d, 2);
  }
  TensorView v;
  v.dtype = DType::Q4_0;
  v.rows = rows;
  v.cols = cols;
  v.data = bytes.data();
  v.nbytes = bytes.size();
  std::vector<float> all(static_cast<size_t>(rows * cols)), ref(static_cast<size_t>(rows * cols));
  convert_rows_f32(v, 0, rows, all.data());
  dequantize(DType::Q4_0, bytes.data(), rows * cols, ref.data());
  EXPECT_EQ(std::memcmp(all.data(), ref.data(), all.size() * 4), 0);
}
