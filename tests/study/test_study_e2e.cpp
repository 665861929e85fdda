// End to end: `spectra study` on the shared stories260k model with a small
// corpus of token-id files (the golden's ids and variations); the run folder's
// files; agreement with the golden probe; `spectra analyze` reproducing the
// tables byte for byte; a fixed seed giving identical output twice; refusal of
// an existing run folder and --force; interruption leaving a clear state.
#include <gtest/gtest.h>

#include <csignal>
#include <cmath>
#include <map>
#include <random>
#include <tuple>

#include <nlohmann/json.hpp>

#include "observers/tuple_file.hpp"
#include "study/interrupt.hpp"
#include "study/run_folder.hpp"
#include "study/run_study.hpp"
#include "study_test_util.hpp"
#include "util/error.hpp"

using namespace spectra;
using namespace spectra::study;
namespace fs = std::filesystem;
using study_test::read_file;
using study_test::run_spectra;
using study_test::write_file;

namespace {

const std::string kShared = SPECTRA_SHARED_DIR;
const std::string kGguf = kShared + "/models/stories260k.gguf";
const std::string kHf = kShared + "/models/stories260k";
constexpr int kLayers = 5, kHeads = 8;

std::vector<std::string> golden_ids() {
  std::istringstream in(read_file(kShared + "/golden/stories260k/greedy.tokens.txt"));
  std::vector<std::string> ids;
  std::string s;
  while (in >> s) ids.push_back(s);
  return ids;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s + "\n";
}

// Three documents: the golden ids, the golden body reversed, random ids.
fs::path make_token_corpus(const fs::path& dir) {
  auto ids = golden_ids();
  EXPECT_EQ(ids.size(), 256u);
  write_file(dir / "corpus" / "a_golden.tokens", join(ids));
  std::vector<std::string> rev(ids.begin() + 1, ids.end());
  std::reverse(rev.begin(), rev.end());
  rev.insert(rev.begin(), ids[0]);
  write_file(dir / "corpus" / "b_reversed.tokens", join(rev));
  std::mt19937 rng(7);
  std::vector<std::string> rnd{"1"};
  for (int i = 0; i < 199; ++i) rnd.push_back(std::to_string(3 + rng() % 509));
  write_file(dir / "corpus" / "sub" / "c_random.tokens", join(rnd));  // 200 tokens: a short window
  return dir / "corpus";
}

std::string study_args(const fs::path& corpus, const fs::path& out) {
  return "study --model '" + kGguf + "' --corpus '" + corpus.string() + "' --out '" + out.string() +
         "' --context 256 --permutations 20 --precision fp32 --threads 2 --no-report --progress lines";
}

// A study run once for the whole suite (it takes a few seconds).
struct Fixture {
  fs::path dir, corpus, run;
  study_test::CmdResult result;
};

fs::path g_shared_dir;  // removed after all tests

class SharedRunCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    if (!g_shared_dir.empty()) fs::remove_all(g_shared_dir);
  }
};
[[maybe_unused]] ::testing::Environment* const kCleanup = ::testing::AddGlobalTestEnvironment(new SharedRunCleanup);

Fixture& shared_run() {
  static Fixture f = [] {
    Fixture x;
    x.dir = study_test::fresh_dir("e2e");
    g_shared_dir = x.dir;
    x.corpus = make_token_corpus(x.dir);
    x.run = x.dir / "run1";
    x.result = run_spectra(study_args(x.corpus, x.run));
    return x;
  }();
  return f;
}

}  // namespace

TEST(StudyEndToEnd, RunFolderHasEveryOutput) {
  auto& f = shared_run();
  ASSERT_EQ(f.result.status, 0) << f.result.output;
  EXPECT_NE(f.result.output.find("run folder: " + f.run.string()), std::string::npos) << f.result.output;
  EXPECT_NE(f.result.output.find("window 3/3 done"), std::string::npos) << f.result.output;  // plain progress lines
  for (const char* name : {"config.toml", "tuples.npy", "heads.csv", "layers.csv", "docs.csv", "decision.json", "summary.json"})
    EXPECT_TRUE(fs::exists(f.run / name)) << name;
  EXPECT_FALSE(fs::exists(f.run / kIncompleteMarker));
  for (const auto& e : fs::directory_iterator(f.run))
    EXPECT_EQ(e.path().string().find(".partial"), std::string::npos) << e.path();
  // The short document was used, with a warning.
  EXPECT_NE(f.result.output.find("c_random.tokens: only 200 tokens"), std::string::npos) << f.result.output;

  // Tuples: every (window, layer, head, position).
  TupleReader tuples((f.run / "tuples.npy").string());
  EXPECT_EQ(tuples.size(), static_cast<uint64_t>((256 + 256 + 200) * kLayers * kHeads));
  EXPECT_EQ(tuples.rows()[0].doc, 0);
  EXPECT_EQ(tuples.rows().back().doc, 2);

  // summary.json: decision, criteria, counts, provenance, precision, threads, timings.
  auto s = nlohmann::json::parse(read_file(f.run / "summary.json"));
  // Three source files < criteria.min_documents (5): no GO/NO-GO can be shown.
  EXPECT_EQ(s["decision"], "INCONCLUSIVE");
  EXPECT_EQ(s["independent_documents"], 3);
  EXPECT_TRUE(s.contains("criteria"));
  EXPECT_EQ(s["counts"]["windows"], 3);
  EXPECT_EQ(s["counts"]["tokens"], 712);
  EXPECT_EQ(s["counts"]["tuple_rows"], tuples.size());
  EXPECT_EQ(s["counts"]["heads"], kLayers * kHeads);
  EXPECT_EQ(s["precision"]["used"], "fp32");
  EXPECT_EQ(s["threads"], 2);
  const auto& file = s["provenance"]["model"]["files"][0];
  EXPECT_EQ(file["bytes"], fs::file_size(kGguf));
  EXPECT_EQ(file["metadata_sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(file["sha256"].get<std::string>().size(), 64u);
  EXPECT_TRUE(s["provenance"]["tool"].contains("git_commit"));
  EXPECT_TRUE(s["provenance"]["tool"].contains("version"));
  EXPECT_EQ(s["provenance"]["corpus"]["files"].size(), 3u);
  EXPECT_GT(s["timings"]["measure"].get<double>(), 0.0);
  ASSERT_EQ(s["documents"].size(), 3u);
  EXPECT_EQ(s["documents"][0]["source"], (f.corpus / "a_golden.tokens").string());
  EXPECT_EQ(s["documents"][2]["source"], (f.corpus / "sub" / "c_random.tokens").string());
  EXPECT_GT(s["documents"][0]["perplexity"].get<double>(), 1.0);

  // docs.csv carries the study's per-window metadata.
  std::string docs = read_file(f.run / "docs.csv");
  // (doc, source, source_file, half, tokens, ...)
  const std::string da = (f.corpus / "a_golden.tokens").string(), dc = (f.corpus / "sub" / "c_random.tokens").string();
  EXPECT_TRUE(docs.find("0," + da + "," + da + ",A,256,") != std::string::npos ||
              docs.find("0," + da + "," + da + ",B,256,") != std::string::npos) << docs;
  EXPECT_TRUE(docs.find("2," + dc + "," + dc + ",A,200,") != std::string::npos ||
              docs.find("2," + dc + "," + dc + ",B,200,") != std::string::npos) << docs;

  // config.toml is the effective configuration and reads back.
  StudyConfig c = load_study_config((f.run / "config.toml").string());
  EXPECT_EQ(c.model, fs::path(kGguf).lexically_normal().string());
  EXPECT_EQ(c.context, 256);
  EXPECT_EQ(c.analysis.permutations, 20);
  EXPECT_EQ(c.precision, "fp32");
  EXPECT_EQ(c.out, f.run.string());
}

TEST(StudyEndToEnd, FirstWindowMatchesTheGoldenProbe) {
  auto& f = shared_run();
  ASSERT_EQ(f.result.status, 0) << f.result.output;
  std::map<std::tuple<int, int, int>, std::pair<double, double>> golden;
  std::istringstream in(read_file(kShared + "/golden/stories260k/greedy.probe.csv"));
  std::string line;
  std::getline(in, line);  // header: layer,head,pos,q_norm,entropy
  while (std::getline(in, line)) {
    int l, h, p;
    double q, e;
    if (std::sscanf(line.c_str(), "%d,%d,%d,%lf,%lf", &l, &h, &p, &q, &e) == 5) golden[{l, h, p}] = {q, e};
  }
  ASSERT_EQ(golden.size(), static_cast<size_t>(kLayers * kHeads * 256));
  TupleReader tuples((f.run / "tuples.npy").string());
  size_t checked = 0;
  double worst = 0;
  for (const auto& r : tuples.rows()) {
    if (r.doc != 0) continue;
    auto [q, e] = golden.at({r.layer, r.head, r.pos});
    worst = std::max({worst, std::abs(r.q_norm - q) / std::max(1.0, std::abs(q)), std::abs(r.entropy - e)});
    ++checked;
  }
  EXPECT_EQ(checked, golden.size());
  EXPECT_LT(worst, 2e-3);
}

TEST(StudyEndToEnd, AnalyzeReproducesTheTablesExactly) {
  auto& f = shared_run();
  ASSERT_EQ(f.result.status, 0) << f.result.output;
  fs::path again = f.dir / "reanalysis";
  auto r = run_spectra("analyze '" + f.run.string() + "' --out '" + again.string() + "'");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* name : {"heads.csv", "layers.csv", "docs.csv", "head_docs.csv"}) {
    if (std::string(name) == "head_docs.csv" && !fs::exists(f.run / name)) continue;  // newer statistics only
    ASSERT_TRUE(fs::exists(again / name)) << name;
    EXPECT_TRUE(read_file(f.run / name) == read_file(again / name)) << name << " differs";
  }
  auto a = nlohmann::json::parse(read_file(f.run / "summary.json"));
  auto b = nlohmann::json::parse(read_file(again / "decision.json"));
  EXPECT_EQ(a["decision"], b["decision"]);
  EXPECT_EQ(a["heads_passing"], b["heads_passing"]);
}

TEST(StudyEndToEnd, FixedSeedGivesIdenticalOutputTwice) {
  auto& f = shared_run();
  ASSERT_EQ(f.result.status, 0) << f.result.output;
  // The second run reads the first's effective configuration: the same study.
  fs::path run2 = f.dir / "run2";
  auto r = run_spectra("study --config '" + (f.run / "config.toml").string() + "' --out '" + run2.string() +
                       "' --no-report --progress none");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* name : {"tuples.npy", "heads.csv", "layers.csv", "docs.csv", "decision.json"})
    EXPECT_TRUE(read_file(f.run / name) == read_file(run2 / name)) << name << " differs";
  // A different seed changes the shuffled controls.
  fs::path run3 = f.dir / "run3";
  r = run_spectra("study --config '" + (f.run / "config.toml").string() + "' --out '" + run3.string() +
                  "' --seed 99 --no-report --progress none");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(read_file(f.run / "tuples.npy") == read_file(run3 / "tuples.npy"));
  EXPECT_FALSE(read_file(f.run / "heads.csv") == read_file(run3 / "heads.csv"));
}

TEST(StudyEndToEnd, RefusesAnExistingRunFolderUnlessForced) {
  auto& f = shared_run();
  ASSERT_EQ(f.result.status, 0) << f.result.output;
  fs::path run = f.dir / "run_force";
  ASSERT_EQ(run_spectra(study_args(f.corpus, run)).status, 0);
  const std::string heads = read_file(run / "heads.csv");
  auto r = run_spectra(study_args(f.corpus, run));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--force"), std::string::npos) << r.output;
  EXPECT_EQ(read_file(run / "heads.csv"), heads);  // untouched
  EXPECT_TRUE(fs::exists(run / "summary.json"));
  r = run_spectra(study_args(f.corpus, run) + " --force --raw-format csv");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(run / "tuples.csv"));
  EXPECT_FALSE(fs::exists(run / "tuples.npy"));  // the previous run's files are gone
  EXPECT_EQ(read_file(run / "heads.csv"), heads);  // same numbers from the csv tuples
}

TEST(StudyEndToEnd, InterruptionLeavesAClearState) {
  auto& f = shared_run();
  fs::path run = f.dir / "run_interrupted";
  StudyConfig c;
  c.model = kGguf;
  c.corpus = {f.corpus.string()};
  c.out = run.string();
  c.context = 128;
  c.analysis.permutations = 5;
  StudyRunOptions o;
  o.report = false;
  o.progress = ProgressStyle::None;
  o.log = [](const std::string&) {};
  o.after_window = [](int i) {
    if (i == 0) simulate_interrupt(SIGINT);
  };
  try {
    run_study(c, o);
    FAIL() << "not interrupted";
  } catch (const Interrupted& e) {
    EXPECT_EQ(e.signal(), SIGINT);
  }
  EXPECT_TRUE(fs::exists(run / "config.toml"));
  EXPECT_FALSE(fs::exists(run / "summary.json"));
  EXPECT_FALSE(fs::exists(run / "tuples.npy"));
  EXPECT_FALSE(fs::exists(run / "heads.csv"));
  for (const auto& e : fs::directory_iterator(run))
    EXPECT_EQ(e.path().string().find(".partial"), std::string::npos) << e.path();
  std::string marker = read_file(run / kIncompleteMarker);
  EXPECT_NE(marker.find("SIGINT"), std::string::npos) << marker;
  EXPECT_NE(marker.find("1 of 3 windows"), std::string::npos) << marker;

  // An error mid-run: the same clear state, and the reason.
  o.after_window = [](int i) {
    if (i == 1) throw Error("simulated failure");
  };
  EXPECT_THROW(run_study(c, o), Error);  // run folder refused: it is not empty
  c.out = (f.dir / "run_failed").string();
  EXPECT_THROW(run_study(c, o), Error);
  EXPECT_FALSE(fs::exists(fs::path(c.out) / "summary.json"));
  EXPECT_NE(read_file(fs::path(c.out) / kIncompleteMarker).find("simulated failure"), std::string::npos);
  // --force replaces the interrupted run.
  o.force = true;
  o.after_window = nullptr;
  c.out = run.string();
  StudyOutcome out = run_study(c, o);
  EXPECT_TRUE(fs::exists(run / "summary.json"));
  EXPECT_FALSE(fs::exists(run / kIncompleteMarker));
  EXPECT_EQ(out.windows, 3u);
}

TEST(StudyEndToEnd, WindowsAllAndMinTokensDryRun) {
  auto d = study_test::fresh_dir("e2e_windows");
  auto ids = golden_ids();
  std::vector<std::string> long_doc = ids;
  long_doc.insert(long_doc.end(), ids.begin() + 1, ids.end());  // 511 tokens
  write_file(d / "long.tokens", join(long_doc));
  write_file(d / "short.tokens", join(std::vector<std::string>(ids.begin(), ids.begin() + 60)));
  StudyConfig c;
  c.model = kGguf;
  c.corpus = {d.string()};
  c.out = (d / "never").string();
  c.context = 128;
  c.windows = WindowMode::All;
  StudyRunOptions o;
  o.dry_run = true;
  o.log = [](const std::string&) {};
  StudyOutcome r = run_study(c, o);
  EXPECT_EQ(r.windows, 5u);  // 510 body tokens / 127 = 4 full windows + the short document
  c.min_tokens = 100;
  r = run_study(c, o);
  EXPECT_EQ(r.windows, 4u);
  EXPECT_FALSE(fs::exists(d / "never"));  // a dry run writes nothing
  // The context is capped at the model's maximum (512).
  c.context = 4096;
  c.min_tokens = 0;
  r = run_study(c, o);
  EXPECT_EQ(r.config.context, 512);
  EXPECT_EQ(r.windows, 2u);
  fs::remove_all(d);
}

TEST(StudyCli, FlagsOverrideTheFileAndErrorsAreClear) {
  auto d = study_test::fresh_dir("cli");
  write_file(d / "docs" / "a.tokens", join(golden_ids()));
  write_file(d / "study.toml", "model = \"" + kGguf + "\"\ncorpus = \"docs\"\ncontext = 64\n[criteria]\nalpha = 0.05\n");
  auto r = run_spectra("study --config '" + (d / "study.toml").string() + "' --context 128 --alpha 0.001 --dry-run");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("context = 128\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("alpha = 0.001\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("corpus = [\"" + (d / "docs").string() + "\"]"), std::string::npos) << r.output;

  write_file(d / "bad.toml", "context = 64\nshuffles = 10\n");
  r = run_spectra("study --config '" + (d / "bad.toml").string() + "' --dry-run");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("line 2: unknown key 'shuffles'"), std::string::npos) << r.output;

  r = run_spectra("study --config '" + (d / "study.toml").string() + "' --context lots --dry-run");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("--context: must be an integer"), std::string::npos) << r.output;

  // Text needs a tokenizer: the HF stories260k folder has none.
  write_file(d / "text" / "t.txt", "Once upon a time");
  r = run_spectra("study --model '" + kHf + "' --corpus '" + (d / "text").string() + "' --context 64 --dry-run");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find(".tokens"), std::string::npos) << r.output;
  // ... token files work with it.
  r = run_spectra("study --model '" + kHf + "' --corpus '" + (d / "docs").string() + "' --context 64 --dry-run");
  EXPECT_EQ(r.status, 0) << r.output;

  // A missing model is named.
  r = run_spectra("study --model '" + (d / "nope.gguf").string() + "' --corpus '" + (d / "docs").string() + "' --dry-run");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("nope.gguf"), std::string::npos) << r.output;
  fs::remove_all(d);
}

TEST(StudyCli, SigintLeavesNoSummaryAndSaysSo) {
  auto d = study_test::fresh_dir("sigint");
  auto ids = golden_ids();
  for (int i = 0; i < 40; ++i) write_file(d / "docs" / ("d" + std::to_string(100 + i) + ".tokens"), join(ids));
  const fs::path run = d / "run", log = d / "log.txt";
  // Start the study in the background, wait for its second window, send SIGINT.
  const std::string cmd = "'" + std::string(SPECTRA_EXE) + "' study --model '" + kGguf + "' --corpus '" +
                          (d / "docs").string() + "' --out '" + run.string() +
                          "' --context 256 --precision fp32 --threads 1 --no-report --progress lines > '" + log.string() +
                          "' 2>&1 & pid=$!; for i in $(seq 600); do grep -q 'window 2/' '" + log.string() +
                          "' && break; sleep 0.05; done; kill -INT $pid; wait $pid; echo \"status=$?\"";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string status;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p)) status += buf;
  ::pclose(p);
  const std::string output = read_file(log);
  if (status.find("status=0") != std::string::npos) GTEST_SKIP() << "the study finished before the signal";
  EXPECT_NE(status.find("status=130"), std::string::npos) << status << output;
  EXPECT_NE(output.find("interrupted by SIGINT"), std::string::npos) << output;
  EXPECT_NE(output.find("no summary.json"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(run / "summary.json"));
  EXPECT_FALSE(fs::exists(run / "tuples.npy"));
  EXPECT_TRUE(fs::exists(run / kIncompleteMarker));
  for (const auto& e : fs::directory_iterator(run))
    EXPECT_EQ(e.path().string().find(".partial"), std::string::npos) << e.path();
  fs::remove_all(d);
}
