// Resumable studies: a study killed with SIGKILL at several points
// (SPECTRA_TEST_KILL_AT, test only) and resumed with `spectra study --resume`
// gives the uninterrupted run's tables byte for byte; damaged or missing
// per-window results are measured again, saying which and why; a changed
// corpus, model or configuration is refused; concurrent --shard processes
// writing into one run folder give the same tables.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "resume_test_util.hpp"

using namespace spectra::study_test;
namespace fs = std::filesystem;

namespace {

struct Baseline {
  fs::path dir, corpus, run;
  CmdResult result;
};

fs::path g_dir;
class Cleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    if (!g_dir.empty()) fs::remove_all(g_dir);
  }
};
[[maybe_unused]] ::testing::Environment* const kCleanup = ::testing::AddGlobalTestEnvironment(new Cleanup);

// The uninterrupted single-process run every other run is compared with.
Baseline& baseline() {
  static Baseline b = [] {
    Baseline x;
    x.dir = fresh_dir("resume");
    g_dir = x.dir;
    x.corpus = make_small_corpus(x.dir);
    x.run = x.dir / "baseline";
    x.result = run_spectra(small_study_args(x.corpus, x.run));
    return x;
  }();
  EXPECT_EQ(b.result.status, 0) << b.result.output;
  return b;
}

CmdResult killed_at(const std::string& point, const fs::path& run, const fs::path& corpus,
                    const std::string& model = kStoriesGguf) {
  return run_shell("SPECTRA_TEST_KILL_AT=" + point + " " + exe() + " " + small_study_args(corpus, run, model));
}

CmdResult resume(const fs::path& run) {
  return run_shell(exe() + " study --resume '" + run.string() + "' --no-report --progress lines");
}

}  // namespace

TEST(StudyResume, KilledAnywhereThenResumedGivesIdenticalTables) {
  auto& b = baseline();
  // Before the first window finishes (its tuple file half written), between a
  // window's tuple file and its journal entry, after a window, after the last
  // window, mid-assembly of the table, after the tables before summary.json.
  for (const std::string point : {"mid-write:0", "after-tuples:1", "after-window:2", "mid-write:4",
                                  "before-analysis", "mid-assembly", "after-analysis"}) {
    SCOPED_TRACE(point);
    const fs::path run = b.dir / ("killed_" + point.substr(0, point.find(':')) + point.substr(point.find(':') + 1));
    CmdResult k = killed_at(point, run, b.corpus);
    ASSERT_EQ(k.status, 128 + SIGKILL) << k.output;
    EXPECT_NE(k.output.find("SPECTRA_TEST_KILL_AT=" + point), std::string::npos) << k.output;
    EXPECT_FALSE(fs::exists(run / "summary.json"));
    EXPECT_TRUE(fs::exists(run / "INCOMPLETE"));
    if (point == "mid-write:0") {  // killed while writing window 0's tuples: a partial file, no entry
      uintmax_t partial = 0;
      for (const auto& e : fs::directory_iterator(run / "windows"))
        if (e.path().filename().string().rfind("000000.npy.partial.", 0) == 0) partial = e.file_size();
      EXPECT_GT(partial, 0u);
      EXPECT_FALSE(fs::exists(run / "windows" / "000000.npy"));
    }
    CmdResult r = resume(run);
    ASSERT_EQ(r.status, 0) << r.output;
    expect_same_tables(b.run, run, point);
    if (point == "after-tuples:1")
      EXPECT_NE(r.output.find("window 1 (" + (b.corpus / "d1.tokens").string() +
                              ") to measure again: its tuple file has no journal entry"),
                std::string::npos)
          << r.output;
    if (point == "after-window:2")
      EXPECT_NE(r.output.find("3 of 5 windows already done (checksums verified); 2 to measure"), std::string::npos)
          << r.output;
    if (point == "before-analysis" || point == "mid-assembly" || point == "after-analysis")
      EXPECT_NE(r.output.find("5 of 5 windows already done (checksums verified); 0 to measure"), std::string::npos)
          << r.output;
    if (point == "after-analysis") {  // resuming a complete study does nothing
      CmdResult again = resume(run);
      EXPECT_EQ(again.status, 0) << again.output;
      EXPECT_NE(again.output.find("is complete; nothing to do"), std::string::npos) << again.output;
      expect_same_tables(b.run, run, "resumed twice");
    }
    fs::remove_all(run);
  }
}

TEST(StudyResume, DamagedOrMissingWindowsAreMeasuredAgain) {
  auto& b = baseline();
  const fs::path run = b.dir / "damaged";
  ASSERT_EQ(killed_at("before-analysis", run, b.corpus).status, 128 + SIGKILL);
  // Window 1: one flipped byte in its tuples; window 2: truncated; window 3: gone.
  std::string w1 = read_file(run / "windows" / "000001.npy");
  w1[w1.size() - 7] ^= 0x40;
  write_file(run / "windows" / "000001.npy", w1);
  std::string w2 = read_file(run / "windows" / "000002.npy");
  write_file(run / "windows" / "000002.npy", w2.substr(0, w2.size() / 2));
  fs::remove(run / "windows" / "000003.npy");
  CmdResult r = resume(run);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("window 1 (" + (b.corpus / "d1.tokens").string() + ") to measure again: checksum mismatch"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("window 2 (" + (b.corpus / "d2.tokens").string() + ") to measure again: its tuple file has " +
                          std::to_string(w2.size() / 2) + " bytes"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("window 3 (" + (b.corpus / "d3.tokens").string() + ") to measure again: its tuple file is missing"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("2 of 5 windows already done (checksums verified); 3 to measure"), std::string::npos)
      << r.output;
  expect_same_tables(b.run, run, "damaged windows");
  // summary.json says which process measured which window: the killed run's and the resumed run's.
  auto s = nlohmann::json::parse(read_file(run / "summary.json"));
  ASSERT_EQ(s["processes"]["measured_by"].size(), 2u) << s["processes"].dump();
  EXPECT_EQ(s["processes"]["measured_by"][0]["windows"], nlohmann::json({0, 4}));
  EXPECT_EQ(s["processes"]["measured_by"][1]["windows"], nlohmann::json({1, 2, 3}));
  EXPECT_NE(s["processes"]["measured_by"][0]["pid"], s["processes"]["measured_by"][1]["pid"]);
  EXPECT_EQ(s["processes"]["measured_by"][1]["tokens"], 90 + 128 + 128);
  fs::remove_all(run);
}

TEST(StudyResume, ChangedCorpusModelOrConfigurationIsRefused) {
  auto& b = baseline();
  const fs::path d = b.dir / "changed";
  fs::create_directories(d);
  fs::copy(b.corpus, d / "corpus", fs::copy_options::recursive);
  fs::copy_file(kStoriesGguf, d / "model.gguf");
  const fs::path run = d / "run";
  ASSERT_EQ(killed_at("after-window:1", run, d / "corpus", (d / "model.gguf").string()).status, 128 + SIGKILL);
  const std::string journal1 = read_file(run / "journal" / "000001.json");

  // A corpus file changed.
  const std::string doc3 = read_file(d / "corpus" / "d3.tokens");
  write_file(d / "corpus" / "d3.tokens", "1 5 6 7 " + doc3.substr(2));
  CmdResult r = resume(run);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("different model, corpus or configuration"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("corpus file " + (d / "corpus" / "d3.tokens").string() + ": changed"), std::string::npos)
      << r.output;
  write_file(d / "corpus" / "d3.tokens", doc3);

  // A corpus file added.
  write_file(d / "corpus" / "d5.tokens", doc3);
  r = resume(run);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("corpus file " + (d / "corpus" / "d5.tokens").string() + ": new"), std::string::npos)
      << r.output;
  fs::remove(d / "corpus" / "d5.tokens");

  // The model's weights changed (one byte of the last tensor).
  std::string model = read_file(d / "model.gguf");
  model[model.size() - 3] ^= 0x01;
  write_file(d / "model.gguf", model);
  r = resume(run);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("model file model.gguf: sha256 changed"), std::string::npos) << r.output;
  fs::copy_file(kStoriesGguf, d / "model.gguf", fs::copy_options::overwrite_existing);

  // The saved configuration was edited.
  const std::string config = read_file(run / "config.toml");
  std::string edited = config;
  edited.replace(edited.find("context = 128"), 13, "context = 96");
  write_file(run / "config.toml", edited);
  r = resume(run);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("configuration: was 'context = 128'"), std::string::npos) << r.output;
  // ... or the attention-budget mass P changed.
  edited = config;
  edited.replace(edited.find("budget_mass = 0.9"), 17, "budget_mass = 0.8");
  write_file(run / "config.toml", edited);
  r = resume(run);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("configuration: was 'budget_mass = 0.9'"), std::string::npos) << r.output;
  // ... or the weights mode: "auto" resolved to one mode when the folder was
  // made (study.json), and the other rounds differently in the last bits.
  const std::string resolved = read_file(run / "study.json").find("\"weights\": \"resident\"") != std::string::npos
                                   ? "resident"
                                   : "streaming";
  const std::string other = resolved == "resident" ? "streaming" : "resident";
  edited = config;
  edited.replace(edited.find("weights = \"auto\""), 16, "weights = \"" + other + "\"");
  write_file(run / "config.toml", edited);
  r = resume(run);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("weights: the windows were measured with " + resolved + " weights, this run would use " +
                          other),
            std::string::npos)
      << r.output;
  write_file(run / "config.toml", config);

  // Flags cannot change a resumed study.
  r = run_shell(exe() + " study --resume '" + run.string() + "' --context 64");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--context cannot change it"), std::string::npos) << r.output;
  r = run_shell(exe() + " study --resume '" + run.string() + "' --budget-mass 0.5");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--budget-mass cannot change it"), std::string::npos) << r.output;
  r = run_shell(exe() + " study --resume '" + run.string() + "' --weights " + other);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--weights cannot change it"), std::string::npos) << r.output;

  // Nothing was mixed: the journal is untouched, and the restored inputs resume to the baseline's tables,
  // even on a machine whose memory would now resolve "auto" the other way: the folder's mode is kept.
  EXPECT_EQ(read_file(run / "journal" / "000001.json"), journal1);
  write_file(d / "meminfo", resolved == "resident" ? "MemAvailable: 1 kB\n" : "MemAvailable: 999999999999 kB\n");
  r = run_shell("SPECTRA_TEST_MEMINFO='" + (d / "meminfo").string() + "' " + exe() + " study --resume '" +
                run.string() + "' --no-report --progress lines");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("study: weights " + resolved + ": auto: resolved to " + resolved +
                          " when this run folder was created (study.json); kept"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("now it would resolve to " + other), std::string::npos) << r.output;
  expect_same_tables(b.run, run, "restored inputs", {"docs.csv"});  // docs.csv names the corpus copy's files
}

TEST(StudyResume, ResumeNeedsARunFolder) {
  auto& b = baseline();
  CmdResult r = run_shell(exe() + " study --resume '" + b.corpus.string() + "'");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("not a resumable run folder (no config.toml)"), std::string::npos) << r.output;
  // A fresh study refuses a partial run folder and points at --resume / --force.
  const fs::path run = b.dir / "partial";
  ASSERT_EQ(killed_at("after-window:0", run, b.corpus).status, 128 + SIGKILL);
  r = run_spectra(small_study_args(b.corpus, run));
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--force"), std::string::npos) << r.output;
  fs::remove_all(run);
}

TEST(StudyShards, ConcurrentShardsThenResumeGiveIdenticalTables) {
  auto& b = baseline();
  const fs::path run = b.dir / "shards";
  // Three shards start at once into one (not yet existing) run folder.
  std::string cmd, wait = "s=0; ";
  for (int i = 0; i < 3; ++i) {
    cmd += exe() + " " + small_study_args(b.corpus, run) + " --shard " + std::to_string(i) + "/3 > '" +
           (b.dir / ("shard" + std::to_string(i) + ".log")).string() + "' 2>&1 & p" + std::to_string(i) + "=$!; ";
    wait += "wait $p" + std::to_string(i) + " || s=1; ";
  }
  cmd += wait + "echo \"shards status=$s\"";
  CmdResult r = run_shell(cmd);
  std::string logs;
  for (int i = 0; i < 3; ++i) logs += read_file(b.dir / ("shard" + std::to_string(i) + ".log"));
  ASSERT_NE(r.output.find("shards status=0"), std::string::npos) << r.output << logs;
  // Exactly one shard analysed; the others said who would.
  size_t analysed = 0;
  for (size_t p = logs.find("heads pass (need"); p != std::string::npos; p = logs.find("heads pass (need", p + 1)) ++analysed;
  EXPECT_EQ(analysed, 2u) << logs;  // "study: GO: ..." and the closing line, of one shard
  expect_same_tables(b.run, run, "3 concurrent shards");
  auto s = nlohmann::json::parse(read_file(run / "summary.json"));
  EXPECT_EQ(s["processes"]["this_run"]["mode"], "shard");
  ASSERT_EQ(s["processes"]["measured_by"].size(), 3u);
  for (const auto& p : s["processes"]["measured_by"])
    for (const auto& w : p["windows"]) EXPECT_EQ(w.get<int>() % 3, p["shard"].get<int>()) << p.dump();
  r = resume(run);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("is complete; nothing to do"), std::string::npos) << r.output;
  expect_same_tables(b.run, run, "3 concurrent shards, resumed");

  // Two of three shards, then --resume measures the third's windows and analyses.
  const fs::path run2 = b.dir / "shards2";
  for (int i : {0, 2}) {
    r = run_spectra(small_study_args(b.corpus, run2) + " --shard " + std::to_string(i) + "/3");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("not done yet"), std::string::npos) << r.output;
  }
  EXPECT_FALSE(fs::exists(run2 / "summary.json"));
  r = resume(run2);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("not measured yet: windows 1, 4"), std::string::npos) << r.output;
  expect_same_tables(b.run, run2, "2 shards then --resume");

  // A shard with a different configuration is refused.
  r = run_spectra(small_study_args(b.corpus, run2) + " --shard 1/3 --seed 5");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("Every shard and rank must use the same configuration"), std::string::npos) << r.output;
  r = run_spectra(small_study_args(b.corpus, run2) + " --shard 3/3");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--shard: expected i/N"), std::string::npos) << r.output;
}
