// --weights auto|resident|streaming on measure and study (and the study key
// `weights`): validation, the resolved mode and its reason in the log and the
// run's metadata, and "auto" on a faked machine (SPECTRA_TEST_MEMINFO).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_support.hpp"

namespace fs = std::filesystem;
using namespace spectra::test_support;
using json = nlohmann::json;

namespace {

const std::string& kGguf = kStoriesGguf;

class WeightsFlag : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fresh_dir("weights_flag");
    ASSERT_TRUE(fs::exists(kGguf)) << kGguf;
  }
  void TearDown() override { fs::remove_all(dir_); }
  // measure into DIR/OUT with extra flags, optionally on a faked /proc/meminfo.
  CmdResult measure(const std::string& out, const std::string& flags, const std::string& meminfo = "") {
    const std::string env = meminfo.empty() ? "" : "SPECTRA_TEST_MEMINFO=" + quote(meminfo) + " ";
    return run_shell(env + quote(SPECTRA_EXE) + " measure --model " + quote(kGguf) + " --tokens " +
                     quote(golden_token_ids(200)) + " --precision fp32 --out " + quote((dir_ / out).string()) + " " + flags);
  }
  json summary(const std::string& out) { return json::parse(read_file(dir_ / out / "summary.json")); }
  fs::path dir_;
};

}  // namespace

TEST_F(WeightsFlag, MeasureRejectsABadValue) {
  for (const char* bad : {"always", "Resident", "\"\""}) {
    auto r = measure("bad", std::string("--weights ") + bad);
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("--weights"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("{auto,resident,streaming}"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir_ / "bad" / "summary.json"));
  }
}

TEST_F(WeightsFlag, MeasureRecordsTheResolvedModeAndWhy) {
  auto r = measure("res", "--weights resident");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("spectra measure: weights resident: requested"), std::string::npos) << r.output;
  json w = summary("res")["weights"];
  EXPECT_EQ(w["requested"], "resident");
  EXPECT_EQ(w["used"], "resident");
  EXPECT_GT(w["converted_bytes"].get<uint64_t>(), 0u);
  EXPECT_TRUE(w["mem_available_bytes"].is_null());

  r = measure("str", "--weights streaming");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("spectra measure: weights streaming: requested"), std::string::npos) << r.output;
  EXPECT_EQ(summary("str")["weights"]["used"], "streaming");

  // auto on a machine with plenty of memory: resident, the bytes in the reason.
  write_file(dir_ / "big", "MemTotal: 99999999 kB\nMemAvailable: 50000000 kB\n");
  r = measure("auto_big", "", (dir_ / "big").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("spectra measure: weights resident: auto: converted weights 1.0 MB fit (rule: 2 x 1.0 MB"),
            std::string::npos)
      << r.output;
  w = summary("auto_big")["weights"];
  EXPECT_EQ(w["requested"], "auto");
  EXPECT_EQ(w["used"], "resident");
  EXPECT_EQ(w["mem_available_bytes"].get<uint64_t>(), uint64_t{50000000} * 1024);
  // The same numbers as an explicit resident run.
  EXPECT_EQ(read_file(dir_ / "auto_big" / "tuples.npy"), read_file(dir_ / "res" / "tuples.npy"));

  // auto on a tiny machine, and with an unreadable or malformed meminfo: streaming, saying why.
  write_file(dir_ / "tiny", "MemAvailable: 1000 kB\n");
  r = measure("auto_tiny", "--weights auto", (dir_ / "tiny").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("weights streaming: auto: converted weights 1.0 MB do not fit"), std::string::npos)
      << r.output;
  EXPECT_EQ(summary("auto_tiny")["weights"]["used"], "streaming");
  EXPECT_EQ(read_file(dir_ / "auto_tiny" / "tuples.npy"), read_file(dir_ / "str" / "tuples.npy"));
  write_file(dir_ / "garbage", "MemAvailable: plenty\n");
  r = measure("auto_garbage", "", (dir_ / "garbage").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("weights streaming: auto: available memory unknown (" + (dir_ / "garbage").string() +
                          ": MemAvailable is not a number)"),
            std::string::npos)
      << r.output;
  r = measure("auto_none", "", (dir_ / "absent").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("cannot be read"), std::string::npos) << r.output;
  EXPECT_EQ(summary("auto_none")["weights"]["used"], "streaming");
}

TEST_F(WeightsFlag, StudyRejectsABadValueInTheFlagAndTheFile) {
  write_file(dir_ / "docs" / "a.tokens", golden_token_ids(100));
  auto r = run_spectra("study --model " + quote(kGguf) + " --corpus " + quote((dir_ / "docs").string()) +
                       " --weights sometimes --dry-run");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--weights: must be one of \"auto\", \"resident\", \"streaming\" (got \"sometimes\")"),
            std::string::npos)
      << r.output;
  write_file(dir_ / "s.toml", "context = 64\nweights = \"resident-ish\"\n");
  r = run_spectra("study --config " + quote((dir_ / "s.toml").string()) + " --dry-run");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("line 2: key 'weights': must be one of"), std::string::npos) << r.output;
  // A good value: the effective configuration and the decision.
  r = run_spectra("study --model " + quote(kGguf) + " --corpus " + quote((dir_ / "docs").string()) +
                  " --context 64 --weights streaming --dry-run");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("weights = \"streaming\"\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("study: weights streaming: requested"), std::string::npos) << r.output;
}

TEST_F(WeightsFlag, StudyRecordsTheResolvedModeInItsMetadata) {
  for (int d = 0; d < 2; ++d) write_file(dir_ / "docs" / ("d" + std::to_string(d) + ".tokens"), golden_token_ids(90 + d));
  write_file(dir_ / "tiny", "MemAvailable: 1000 kB\n");
  const std::string args = " study --model " + quote(kGguf) + " --corpus " + quote((dir_ / "docs").string()) +
                           " --context 64 --permutations 5 --precision fp32 --threads 1 --no-report --progress none";
  // auto on a tiny machine: streaming, and older run folders' fingerprint (no "weights").
  auto r = run_shell("SPECTRA_TEST_MEMINFO=" + quote((dir_ / "tiny").string()) + " " + quote(SPECTRA_EXE) + args +
                     " --out " + quote((dir_ / "run_s").string()));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("study: weights streaming: auto: converted weights 1.0 MB do not fit"), std::string::npos)
      << r.output;
  json m = json::parse(read_file(dir_ / "run_s" / "study.json"));
  EXPECT_EQ(m["weights"]["requested"], "auto");
  EXPECT_EQ(m["weights"]["resolved"], "streaming");
  EXPECT_FALSE(m["fingerprint"].contains("weights"));
  json s = json::parse(read_file(dir_ / "run_s" / "summary.json"));
  EXPECT_EQ(s["weights"]["used"], "streaming");
  EXPECT_NE(s["weights"]["reason"].get<std::string>().find("do not fit"), std::string::npos);
  // resident: in the manifest, the fingerprint and every window's journal entry.
  r = run_spectra(args.substr(1) + " --weights resident --out " + quote((dir_ / "run_r").string()));
  ASSERT_EQ(r.status, 0) << r.output;
  m = json::parse(read_file(dir_ / "run_r" / "study.json"));
  EXPECT_EQ(m["weights"]["resolved"], "resident");
  EXPECT_EQ(m["fingerprint"]["weights"], "resident");
  EXPECT_NE(m["plan_id"], json::parse(read_file(dir_ / "run_s" / "study.json"))["plan_id"]);
  EXPECT_EQ(json::parse(read_file(dir_ / "run_r" / "summary.json"))["weights"]["used"], "resident");
  for (const auto& e : fs::directory_iterator(dir_ / "run_r" / "journal"))
    EXPECT_EQ(json::parse(read_file(e.path())).value("weights", ""), "resident") << e.path();
}
