// Tuple file I/O against numpy: np.load reads what TupleWriter writes, and
// TupleReader reads what np.save writes; csv round trip; atomicity; errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <filesystem>
#include <fstream>
#include <vector>

#include "observers/tuple_file.hpp"
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
  return r;
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
  for (int64_t i = 0; i < 1234; ++i) ASSERT_TRUE(same(r.rows()[i], pattern_row(i))) << i;
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
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i == 3) {
      EXPECT_TRUE(std::isnan(r.rows()[i].entropy));
      continue;
    }
    ASSERT_TRUE(same(r.rows()[i], rows[i])) << i;
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
