// Tuple file I/O against numpy: np.load reads what TupleWriter writes, and
// TupleReader reads what np.save writes; csv round trip; atomicity; errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <filesystem>
#include <fstream>
#include <vector>

#include "observers/probe_arrays.hpp"
#include "observers/tuple_file.hpp"
#include "observers/tuple_observer.hpp"
#include "test_helpers.hpp"
#include "util/error.hpp"

using namespace spectra;
namespace fs = std::filesystem;

namespace {

// Mirrors pattern() in tuple_numpy.py.
TupleRow pattern_row(int64_t i) {
  TupleRow r{};
  r.doc = static_cast<int32_t>(i / 100);
  r.layer = static_cast<int32_t>((i / 10) % 3);
  r.head = static_cast<int32_t>(i % 10);
  r.kv_head = static_cast<int32_t>((i % 10) / 2);
  r.pos = static_cast<int32_t>(i % 7);
  r.token = static_cast<int32_t>((i * 31) % 1000 - 3);
  r.q_norm = static_cast<float>(static_cast<double>(i) * 0.37 + 0.1);
  r.entropy = static_cast<float>(static_cast<double>(i % 13) * 0.5 - 1.25);
  r.sink_mass = static_cast<float>(1.0 / static_cast<double>(i + 1));
  r.max_attn = static_cast<float>(static_cast<double>(i % 5) * 0.25);
  r.entropy_fixed_norm = static_cast<float>(static_cast<double>(i % 11) * 0.3);
  r.neg_var_score = static_cast<float>(-static_cast<double>(i % 7) * 0.1);
  r.max_score = static_cast<float>(static_cast<double>(i % 9) - 2.5);
  r.logsumexp = static_cast<float>(static_cast<double>(i) * 0.01);
  r.k_budget = i % 5 == 4 ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(i % 17 + 1);
  return r;
}

// Field by field, NaN equal to NaN.
bool same_values(const TupleRow& a, const TupleRow& b) {
  auto eq = [](float x, float y) { return (std::isnan(x) && std::isnan(y)) || x == y; };
  return a.doc == b.doc && a.layer == b.layer && a.head == b.head && a.kv_head == b.kv_head && a.pos == b.pos &&
         a.token == b.token && eq(a.q_norm, b.q_norm) && eq(a.entropy, b.entropy) && eq(a.sink_mass, b.sink_mass) &&
         eq(a.max_attn, b.max_attn) && eq(a.entropy_fixed_norm, b.entropy_fixed_norm) &&
         eq(a.neg_var_score, b.neg_var_score) && eq(a.max_score, b.max_score) && eq(a.logsumexp, b.logsumexp) &&
         eq(a.k_budget, b.k_budget);
}

// A version-1 row read back: the first ten fields of the pattern, NaN after.
void expect_v1_row(const TupleRow& got, int64_t i) {
  TupleRow want = pattern_row(i);
  want.entropy_fixed_norm = want.neg_var_score = want.max_score = want.logsumexp = want.k_budget =
      std::numeric_limits<float>::quiet_NaN();
  ASSERT_TRUE(same_values(got, want)) << i;
  ASSERT_TRUE(std::isnan(got.entropy_fixed_norm) && std::isnan(got.neg_var_score) && std::isnan(got.max_score) &&
              std::isnan(got.logsumexp) && std::isnan(got.k_budget))
      << i;
}

// A record-version-1 npy as the writer before #14 wrote it (v1.0 header,
// padded to 64 bytes, 40-byte rows).
std::string v1_npy_bytes(int64_t n) {
  std::vector<TupleRowV1> v;
  for (int64_t i = 0; i < n; ++i) {
    const TupleRow r = pattern_row(i);
    v.push_back({r.doc, r.layer, r.head, r.kv_head, r.pos, r.token, r.q_norm, r.entropy, r.sink_mass, r.max_attn});
  }
  return test_support::tuple_v1_npy(v);
}

std::vector<TupleRow> pattern(int64_t n) {
  std::vector<TupleRow> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(pattern_row(i));
  return v;
}

void write_in_chunks(TupleWriter& w, const std::vector<TupleRow>& rows) {
  // document by document (100 rows each), as the engine does
  for (size_t b = 0; b < rows.size(); b += 100)
    w.append(std::span<const TupleRow>(rows.data() + b, std::min<size_t>(100, rows.size() - b)));
}

bool same(const TupleRow& a, const TupleRow& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST(TupleFile, NumpyLoadsOurNpy) {
  auto dir = test::fresh_dir("tf1");
  for (int64_t n : {0, 1, 777}) {
    auto path = (dir / ("t" + std::to_string(n) + ".npy")).string();
    auto rows = pattern(n);
    {
      TupleWriter w(path);
      write_in_chunks(w, rows);
      EXPECT_FALSE(fs::exists(path));
      w.finish();
      EXPECT_EQ(w.rows_written(), static_cast<uint64_t>(n));
    }
    EXPECT_EQ(test::run_python("tuple_numpy.py", "check " + path + " " + std::to_string(n)), 0) << path;
    TupleReader r(path);
    ASSERT_EQ(r.size(), static_cast<uint64_t>(n));
    for (int64_t i = 0; i < n; ++i) ASSERT_TRUE(same(r.rows()[i], rows[i])) << i;
  }
  fs::remove_all(dir);
}

TEST(TupleFile, ReadsNumpyWrittenNpy) {
  auto dir = test::fresh_dir("tf2");
  auto path = (dir / "np.npy").string();
  ASSERT_EQ(test::run_python("tuple_numpy.py", "write " + path + " 1234"), 0);
  TupleReader r(path);
  ASSERT_EQ(r.size(), 1234u);
  EXPECT_EQ(r.version(), 2);
  EXPECT_TRUE(r.has_column("k_budget"));
  for (int64_t i = 0; i < 1234; ++i) ASSERT_TRUE(same_values(r.rows()[i], pattern_row(i))) << i;
  fs::remove_all(dir);
}

TEST(TupleFile, ReadsVersion1NpyFromNumpyAndFromTheOldWriter) {
  auto dir = test::fresh_dir("tf2v1");
  const auto np_path = (dir / "np_v1.npy").string();
  ASSERT_EQ(test::run_python("tuple_numpy.py", "write " + np_path + " 321 v1"), 0);
  const auto old_path = (dir / "old_v1.npy").string();
  test_support::write_file(old_path, v1_npy_bytes(321));
  for (const auto& path : {np_path, old_path}) {
    EXPECT_EQ(tuple_npy_file_version(path), 1) << path;
    TupleReader r(path);
    ASSERT_EQ(r.size(), 321u) << path;
    EXPECT_EQ(r.version(), 1);
    for (const char* c : {"doc", "q_norm", "entropy", "sink_mass", "max_attn"}) EXPECT_TRUE(r.has_column(c)) << c;
    for (const char* c : {"entropy_fixed_norm", "neg_var_score", "max_score", "logsumexp", "k_budget"})
      EXPECT_FALSE(r.has_column(c)) << c;
    for (int64_t i = 0; i < 321; ++i) expect_v1_row(r.rows()[i], i);
  }
  // The current writer writes version 2, which numpy reads with the new dtype.
  const auto v2 = (dir / "v2.npy").string();
  {
    TupleWriter w(v2);
    w.append(pattern(50));
    w.finish();
  }
  EXPECT_EQ(tuple_npy_file_version(v2), 2);
  EXPECT_EQ(test::run_python("tuple_numpy.py", "check " + v2 + " 50"), 0);
  fs::remove_all(dir);
}

TEST(TupleFile, ReadsVersion1Csv) {
  auto dir = test::fresh_dir("tf3v1");
  std::string text = "doc,layer,head,kv_head,pos,token,q_norm,entropy,sink_mass,max_attn\n";
  for (int64_t i = 0; i < 40; ++i) {
    const TupleRow r = pattern_row(i);
    char buf[256];
    std::snprintf(buf, sizeof buf, "%d,%d,%d,%d,%d,%d,%.9g,%.9g,%.9g,%.9g\n", r.doc, r.layer, r.head, r.kv_head, r.pos,
                  r.token, r.q_norm, r.entropy, r.sink_mass, r.max_attn);
    text += buf;
  }
  const auto path = (dir / "tuples.csv").string();
  test_support::write_file(path, text);
  TupleReader r(path);
  ASSERT_EQ(r.size(), 40u);
  EXPECT_EQ(r.version(), 1);
  EXPECT_FALSE(r.has_column("entropy_fixed_norm"));
  for (int64_t i = 0; i < 40; ++i) expect_v1_row(r.rows()[i], i);
  // A version-1 line with a version-2 field count is an error naming the line.
  test_support::write_file(path, text + "1,2,3,4,5,6,1,1,1,1,1\n");
  try {
    TupleReader bad(path);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("more than 10 fields"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(TupleFile, CsvRoundTrip) {
  auto dir = test::fresh_dir("tf3");
  auto path = (dir / "tuples.csv").string();
  auto rows = pattern(555);
  rows[3].entropy = std::numeric_limits<float>::quiet_NaN();
  {
    TupleWriter w(path);
    EXPECT_EQ(w.format(), TupleFormat::Csv);
    write_in_chunks(w, rows);
    w.finish();
  }
  TupleReader r(path);
  ASSERT_EQ(r.size(), rows.size());
  EXPECT_EQ(r.version(), 2);
  EXPECT_TRUE(r.has_column("k_budget"));
  EXPECT_EQ(test::read_text(path).substr(0, test::read_text(path).find('\n')),
            "doc,layer,head,kv_head,pos,token,q_norm,entropy,sink_mass,max_attn,entropy_fixed_norm,neg_var_score,"
            "max_score,logsumexp,k_budget");
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i == 3) {
      EXPECT_TRUE(std::isnan(r.rows()[i].entropy));
      continue;
    }
    ASSERT_TRUE(same_values(r.rows()[i], rows[i])) << i;
  }
  EXPECT_EQ(find_tuple_file(dir.string()), path);
  fs::remove_all(dir);
}

TEST(TupleFile, UnfinishedWriterLeavesNoFile) {
  auto dir = test::fresh_dir("tf4");
  {
    TupleWriter w((dir / "tuples.npy").string());
    w.append(pattern(10));
  }
  EXPECT_TRUE(fs::is_empty(dir));
  EXPECT_THROW(find_tuple_file(dir.string()), Error);
  fs::remove_all(dir);
}

TEST(TupleFile, BadFilesNameFileAndPlace) {
  auto dir = test::fresh_dir("tf5");
  auto good = (dir / "good.npy").string();
  {
    TupleWriter w(good);
    w.append(pattern(5));
    w.finish();
  }
  std::string bytes = test::read_text(good);
  auto write = [&](const std::string& name, const std::string& s) {
    auto p = (dir / name).string();
    std::ofstream(p, std::ios::binary) << s;
    return p;
  };
  auto expect_error = [&](const std::string& p, const std::string& needle) {
    try {
      TupleReader r(p);
      ADD_FAILURE() << "no error for " << p;
    } catch (const Error& e) {
      std::string m = e.what();
      EXPECT_NE(m.find(p), std::string::npos) << m;
      EXPECT_NE(m.find(needle), std::string::npos) << m;
    }
  };
  std::string s = bytes;
  s[1] = 'X';
  expect_error(write("magic.npy", s), "magic");
  s = bytes;
  s.replace(s.find("'<f4'"), 5, "'<f8'");
  expect_error(write("descr.npy", s), "descr");
  s = bytes;
  s.replace(s.find("False"), 5, "True ");
  expect_error(write("fortran.npy", s), "fortran_order");
  s = bytes;
  s.replace(s.find("(5,)"), 4, "(6,)");
  expect_error(write("shape.npy", s), "offset");
  s = bytes;
  s.replace(s.find("'pos'"), 5, "'poz'");
  expect_error(write("name.npy", s), "poz");
  s = bytes;
  s.replace(s.find(", ('k_budget', '<f4')"), 21, std::string(21, ' '));
  expect_error(write("fields.npy", s), "14 fields");
  s = bytes;
  s[6] = 9;
  expect_error(write("version.npy", s), "version");
  expect_error(write("bad.csv", "doc,layer\n1,2\n"), "header");
  expect_error(write("bad2.csv",
                     "doc,layer,head,kv_head,pos,token,q_norm,entropy,sink_mass,max_attn\n1,2,3,4,5,6,x,1,1,1\n"),
               "q_norm");
  expect_error(write("bad3.csv", "doc,layer,head,kv_head,pos,token,q_norm,entropy,sink_mass,max_attn\n1,2,3\n"),
               "line 2");
  fs::remove_all(dir);
}

// The probe → tuple conversion: every kHeadProbeFields statistic lands in its
// column; a statistic the engine did not provide (null array) is NaN, in the
// tuple writer's rows and in ProbeArrays (whose tuple_rows() are the same).
TEST(TupleFile, ProbeFieldsFillTheColumnsAndNullIsNaN) {
  const int n = 3;
  const int32_t tokens[n] = {7, 8, 9};
  const float q[n] = {1, 2, 3}, H[n] = {0.5f, 0.6f, 0.7f}, p0[n] = {0.1f, 0.2f, 0.3f}, mx[n] = {0.9f, 0.8f, 0.7f};
  const float hf[n] = {0.4f, 0.45f, 0.5f}, k[n] = {1, 2, 3};
  engine::HeadProbe hp;
  hp.layer = 1, hp.head = 2, hp.kv_head = 0, hp.pos0 = 0, hp.n = n;
  hp.tokens = tokens, hp.q_norm = q, hp.entropy = H, hp.sink_mass = p0, hp.max_attn = mx;
  hp.entropy_fixed_norm = hf, hp.k_budget = k;  // neg_var_score, max_score, logsumexp: not measured
  std::vector<TupleRow> rows;
  append_head_rows(hp, 5, rows);
  ASSERT_EQ(rows.size(), 3u);
  for (int i = 0; i < n; ++i) {
    const TupleRow& r = rows[i];
    EXPECT_EQ(r.doc, 5);
    EXPECT_EQ(r.pos, i);
    EXPECT_EQ(r.token, tokens[i]);
    EXPECT_EQ(r.q_norm, q[i]);
    EXPECT_EQ(r.max_attn, mx[i]);
    EXPECT_EQ(r.entropy_fixed_norm, hf[i]);
    EXPECT_EQ(r.k_budget, k[i]);
    EXPECT_TRUE(std::isnan(r.neg_var_score) && std::isnan(r.max_score) && std::isnan(r.logsumexp));
  }
  ModelDesc d;
  d.n_layers = 2, d.n_heads = 3, d.n_kv_heads = 1;
  ProbeArrays a;
  ProbeArrayObserver obs(a);
  obs.begin(d, std::span<const int32_t>(tokens, n), 0);
  obs.on_head(hp);  // null arrays: must not be read
  const auto tr = a.tuple_rows(5);
  ASSERT_EQ(tr.size(), size_t(2 * 3 * n));
  for (int i = 0; i < n; ++i) EXPECT_TRUE(same_values(tr[(1 * 3 + 2) * n + i], rows[i])) << i;
  EXPECT_TRUE(std::isnan(tr[0].entropy_fixed_norm));  // a head never probed: NaN everywhere
}
