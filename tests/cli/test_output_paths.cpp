// Every command that writes files, given a relative output folder, writes it
// relative to the folder it was started in (and renders its figures there).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cli_support.hpp"

namespace fs = std::filesystem;
using namespace spectra::test_support;

namespace {

const std::string& kGguf = kStoriesGguf;

class RelativeOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    cwd_ = fresh_dir("cli_paths");
    ASSERT_TRUE(fs::exists(kGguf)) << kGguf;
  }
  void TearDown() override { fs::remove_all(cwd_); }
  fs::path cwd_;
};

TEST_F(RelativeOutput, MeasureWritesIntoTheStartingFolder) {
  auto r = run_spectra("measure --model " + quote(kGguf) + " --tokens " + quote(golden_token_ids(40)) +
                           " --precision fp32 --out out/m",
                       cwd_.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(cwd_ / "out/m/tuples.npy")) << r.output;
  EXPECT_TRUE(fs::exists(cwd_ / "out/m/summary.json")) << r.output;
}

TEST_F(RelativeOutput, TraceRendersFiguresIntoARelativeFolder) {
  auto r = run_spectra("trace --model " + quote(kGguf) + " --tokens " + quote(golden_token_ids(24)) +
                           " --layer 1 --head 2 --out trace_out",
                       cwd_.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("gnuplot-nox"), std::string::npos) << r.output;
  int pngs = 0;
  for (const auto& e : fs::directory_iterator(cwd_ / "trace_out")) pngs += e.path().extension() == ".png";
  EXPECT_GT(pngs, 0) << r.output;
  for (const auto& e : fs::directory_iterator(cwd_ / "trace_out"))
    EXPECT_EQ(e.path().filename().string().rfind(".work.", 0), std::string::npos) << "work folder left behind";
}

TEST_F(RelativeOutput, InspectRendersFiguresIntoARelativeFolder) {
  auto r = run_spectra("inspect --model " + quote(kGguf) + " --figures figs", cwd_.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(cwd_ / "figs/weight_norms.csv")) << r.output;
  int pngs = 0;
  for (const auto& e : fs::directory_iterator(cwd_ / "figs")) pngs += e.path().extension() == ".png";
  EXPECT_GT(pngs, 0) << r.output;
}

TEST_F(RelativeOutput, StudyAnalyzeAndReportWithRelativeFolders) {
  write_file(cwd_ / "corpus/a.tokens", golden_token_ids(120));
  write_file(cwd_ / "corpus/b.tokens", golden_token_ids(90));
  auto r = run_spectra("study --model " + quote(kGguf) +
                           " --corpus corpus --context 64 --permutations 5 --precision fp32 --threads 1"
                           " --no-report --progress lines --out runs/s",
                       cwd_.string());
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_TRUE(fs::exists(cwd_ / "runs/s/heads.csv")) << r.output;
  r = run_spectra("analyze runs/s --out again", cwd_.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_file(cwd_ / "runs/s/heads.csv"), read_file(cwd_ / "again/heads.csv"));
  r = run_spectra("report runs/s", cwd_.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(cwd_ / "runs/s/report.html")) << r.output;
  EXPECT_TRUE(fs::exists(cwd_ / "runs/s/figures")) << r.output;
}

}  // namespace
