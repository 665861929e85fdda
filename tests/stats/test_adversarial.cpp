// The decision cannot be fooled: adversarial synthetic runs written by
// adversarial_tuples.py (several seeds and parameters per scenario: position-
// only drift, between-document offsets over a real effect, sign flips, one
// document, windows of one source file, strongly autocorrelated noise, a real
// effect) go through `spectra analyze`, and the decision must be the true one
// in every run. The primary statistic of some of them is recomputed in
// Python (numpy least squares, scipy, statsmodels combine_effects "dl").
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "test_helpers.hpp"

namespace fs = std::filesystem;
using namespace spectra;

TEST(Adversarial, DecisionIsTheTrueOneInEveryScenario) {
  auto root = test::fresh_dir("adversarial");
  ASSERT_EQ(test::run_python("adversarial_tuples.py", root.string()), 0);
  std::ifstream in(root / "expected.txt");
  std::string folder, expected;
  std::map<std::string, int> per_expected;
  int runs = 0;
  while (in >> folder >> expected) {
    const std::string cmd = std::string(SPECTRA_EXE) + " analyze " + folder + " > " + folder + "/stdout.txt";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << folder;
    auto d = nlohmann::json::parse(test::read_text(fs::path(folder) / "decision.json"));
    EXPECT_EQ(d["decision"], expected) << folder << ": " << d["reason"];
    // The decision is shown the same way on the command line.
    const std::string out = test::read_text(fs::path(folder) / "stdout.txt");
    EXPECT_EQ(out.rfind(expected + ":", 0), 0u) << out;
    // Each criteria row agrees with the decision.
    bool all_pass = true, docs_pass = true;
    for (auto& c : d["criteria"]) {
      if (c["name"] == "min_documents") docs_pass = c["verdict"] == "pass";
      if (c["name"] == "min_documents" || c["name"] == "meaningful_subset") all_pass = all_pass && c["verdict"] == "pass";
    }
    EXPECT_EQ(d["decision"] == "INCONCLUSIVE", !docs_pass) << folder;
    EXPECT_EQ(d["decision"] == "GO", all_pass) << folder;
    ++per_expected[expected];
    ++runs;
  }
  EXPECT_EQ(runs, 21);
  EXPECT_EQ(per_expected["GO"], 6);
  EXPECT_EQ(per_expected["NO-GO"], 9);
  EXPECT_EQ(per_expected["INCONCLUSIVE"], 6);
  // The primary statistic and its columns, independently, on runs of three
  // different structures.
  for (const char* run : {"offsets_11", "flips_12", "autocorr_13", "windows_11"})
    EXPECT_EQ(test::run_python("check_within.py", (root / run).string()), 0) << run;
  // INCONCLUSIVE and GO are shown as such in report.md and report.html, with
  // the "k of N heads" headline and no causal or unqualified wording.
  for (auto [run, verdict] : {std::pair{"windows_11", "INCONCLUSIVE"}, std::pair{"real_11", "GO"}}) {
    const std::string cmd = std::string(SPECTRA_EXE) + " report " + (root / run).string() + " > /dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << run;
    const std::string md = test::read_text(root / run / "report.md");
    const std::string html = test::read_text(root / run / "report.html");
    EXPECT_NE(md.find(std::string("## Decision: **") + verdict + "**"), std::string::npos) << run;
    EXPECT_NE(md.find("**Decision: " + std::string(verdict) + ".**"), std::string::npos) << run;
    EXPECT_NE(md.find(" of 4 heads**"), std::string::npos) << run;
    EXPECT_NE(html.find(std::string("Decision: ") + verdict + "</div>"), std::string::npos) << run;
    for (const char* banned : {"sharper", "predicts entropy", "aligned tokens matter"})
      EXPECT_EQ(md.find(banned), std::string::npos) << run << ": " << banned;
    if (std::string(verdict) == "INCONCLUSIVE") {
      EXPECT_NE(html.find("badge inconclusive"), std::string::npos);
      EXPECT_NE(md.find("1 independent document"), std::string::npos);
    }
  }
  fs::remove_all(root);
}
