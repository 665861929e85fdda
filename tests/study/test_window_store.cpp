// Per-window tuple files of an older tuple record version (a study started
// with a spectra before issue #14 and resumed with this one): the window is
// not done (measured again, with the reason), and assembling refuses it.
#include <gtest/gtest.h>

#include <vector>

#include "cli_support.hpp"
#include "observers/tuple_file.hpp"
#include "study/window_store.hpp"
#include "util/error.hpp"

using namespace spectra;
namespace fs = std::filesystem;

TEST(WindowStore, OldRecordVersionIsMeasuredAgain) {
  const fs::path dir = test_support::fresh_dir("winstore_v1");
  study::WindowStore store(dir.string(), "plan-x", 2);
  store.make_folders();
  {  // window 0: the current record version
    TupleWriter w(store.tuple_path(0));
    TupleRow r{};
    r.doc = 0, r.pos = 3, r.q_norm = 1, r.entropy = 2;
    w.append(r);
    w.finish();
  }
  store.commit(0, {{"rows", 1}});
  // window 1: a version-1 file, committed by the older spectra
  std::vector<TupleRowV1> old = {{1, 0, 0, 0, 3, 7, 1.0f, 2.0f, 0.1f, 0.5f}};
  test_support::write_file(store.tuple_path(1), test_support::tuple_v1_npy(old));
  store.commit(1, {{"rows", 1}});

  EXPECT_TRUE(store.check(0, true).done);
  for (bool hash : {false, true}) {
    const study::WindowCheck c = store.check(1, hash);
    EXPECT_FALSE(c.done);
    EXPECT_NE(c.why.find("tuple record version 1"), std::string::npos) << c.why;
  }
  const auto pending = store.pending(false);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].first, 1);
  // Assembling (which trusts the journal) refuses it, naming the file and --resume.
  try {
    store.assemble((dir / "tuples.npy").string(), TupleFormat::Npy, nullptr);
    ADD_FAILURE() << "assembled a version-1 window";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("000001.npy"), std::string::npos) << m;
    EXPECT_NE(m.find("--resume"), std::string::npos) << m;
  }
  EXPECT_FALSE(fs::exists(dir / "tuples.npy"));
  fs::remove_all(dir);
}
