// Run folder: creation, refusal of a non-empty folder, --force on a previous
// run (and never on a foreign folder), the INCOMPLETE marker, timestamped names.
#include <gtest/gtest.h>

#include "study/run_folder.hpp"
#include "study/study_paths.hpp"
#include "study_test_util.hpp"
#include "util/error.hpp"

using namespace spectra;
using namespace spectra::study;
namespace fs = std::filesystem;

TEST(RunFolder, CreatesAndMarksIncomplete) {
  auto d = study_test::fresh_dir("rf_new");
  fs::path run = d / "runs" / "one";
  prepare_run_folder(run.string(), false);
  EXPECT_TRUE(fs::is_directory(run));
  EXPECT_TRUE(fs::exists(run / kIncompleteMarker));
  EXPECT_TRUE(is_run_folder(run.string()));
  mark_incomplete(run.string(), "interrupted by SIGINT");
  EXPECT_NE(study_test::read_file(run / kIncompleteMarker).find("SIGINT"), std::string::npos);
  mark_complete(run.string());
  EXPECT_FALSE(fs::exists(run / kIncompleteMarker));
  fs::remove_all(d);
}

TEST(RunFolder, EmptyExistingFolderIsFine) {
  auto d = study_test::fresh_dir("rf_empty");
  EXPECT_NO_THROW(prepare_run_folder(d.string(), false));
  fs::remove_all(d);
}

TEST(RunFolder, RefusesNonEmptyWithoutForce) {
  auto d = study_test::fresh_dir("rf_refuse");
  study_test::write_file(d / "config.toml", "context = 8\n");
  study_test::write_file(d / "heads.csv", "old results\n");
  try {
    prepare_run_folder(d.string(), false);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos) << e.what();
  }
  EXPECT_EQ(study_test::read_file(d / "heads.csv"), "old results\n");  // untouched
  // --force clears a previous run entirely.
  fs::create_directories(d / "figures");
  study_test::write_file(d / "figures" / "x.svg", "<svg/>");
  prepare_run_folder(d.string(), true);
  EXPECT_FALSE(fs::exists(d / "heads.csv"));
  EXPECT_FALSE(fs::exists(d / "config.toml"));
  EXPECT_FALSE(fs::exists(d / "figures"));
  EXPECT_TRUE(fs::exists(d / kIncompleteMarker));
  fs::remove_all(d);
}

TEST(RunFolder, ForceNeverClearsAForeignFolder) {
  auto d = study_test::fresh_dir("rf_foreign");
  study_test::write_file(d / "thesis.tex", "precious");
  EXPECT_THROW(prepare_run_folder(d.string(), true), Error);
  EXPECT_EQ(study_test::read_file(d / "thesis.tex"), "precious");
  study_test::write_file(d / "file", "x");
  EXPECT_THROW(prepare_run_folder((d / "file").string(), true), Error);  // not a directory
  fs::remove_all(d);
}

TEST(RunFolder, DefaultNamesAreTimestampsAndUnique) {
  auto d = study_test::fresh_dir("rf_names");
  std::string a = default_run_dir(d.string());
  EXPECT_EQ(fs::path(a).parent_path(), d);
  EXPECT_EQ(fs::path(a).filename().string().size(), 15u);  // YYYYMMDD-HHMMSS
  fs::create_directories(a);
  std::string b = default_run_dir(d.string());
  EXPECT_NE(a, b);
  fs::remove_all(d);
}
