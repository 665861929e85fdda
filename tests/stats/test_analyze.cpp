// `spectra analyze` end to end on synthetic tuples: one planted strong
// negative head passes (and only it), a strong positive head is reported but
// does not pass, GO / NO-GO follows the configured subset, a constant head
// gives NaN with a note, and the output is byte-identical across runs and
// thread counts; every pooled statistic in heads.csv and layers.csv equals
// scipy/statsmodels recomputing it from the same tuples.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "observers/tuple_file.hpp"
#include "stats/analyze.hpp"
#include "test_helpers.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

using namespace spectra;
using namespace spectra::stats;
namespace fs = std::filesystem;

namespace {

constexpr int kLayers = 4, kHeads = 4, kKv = 2, kDocs = 6, kTokens = 300;

// Head (2, 1): entropy = a − b·‖q‖ + noise (r ≈ −0.9). Head (0, 3): strong
// positive. Head (3, 0): constant entropy. Others: independent, with a mild
// position trend in both (handled by the partial correlation).
void write_synthetic(const std::string& path) {
  std::mt19937_64 gen(2024);
  std::normal_distribution<double> nd;
  TupleWriter w(path);
  std::vector<TupleRow> doc_rows;
  for (int d = 0; d < kDocs; ++d) {
    doc_rows.clear();
    for (int l = 0; l < kLayers; ++l)
      for (int h = 0; h < kHeads; ++h)
        for (int t = 0; t < kTokens; ++t) {
          TupleRow r{};
          r.doc = d, r.layer = l, r.head = h, r.kv_head = h / (kHeads / kKv), r.pos = t, r.token = 1000 + t;
          const double lt = std::log(t + 1.0);
          double q = 20 + 0.3 * lt + 2.0 * nd(gen);
          double H;
          if (l == 2 && h == 1) H = 8 + 0.3 * lt - 0.4 * (q - 20) + 0.1 * nd(gen);
          else if (l == 0 && h == 3) H = 8 + 0.3 * lt + 0.4 * (q - 20) + 0.1 * nd(gen);
          else if (l == 3 && h == 0) H = 1.5;
          else H = 0.5 * lt + 0.3 * nd(gen);
          r.q_norm = static_cast<float>(q);
          r.entropy = static_cast<float>(std::max(0.0, H));
          r.sink_mass = static_cast<float>(0.3 + 0.01 * nd(gen));
          r.max_attn = 0.5f;
          doc_rows.push_back(r);
        }
    w.append(doc_rows);
  }
  w.finish();
}

int run_cli(const std::string& args) {
  std::string cmd = std::string(SPECTRA_EXE) + " analyze " + args + " > /dev/null";
  return std::system(cmd.c_str());
}

std::vector<std::vector<std::string>> read_csv(const fs::path& p) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(test::read_text(p));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::string cell;
    std::istringstream ls(line);
    while (std::getline(ls, cell, ',')) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

int column(const std::vector<std::string>& header, const std::string& name) {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  ADD_FAILURE() << "no column " << name;
  return 0;
}

}  // namespace

TEST(Analyze, PlantedHeadPassesAndOutputIsDeterministic) {
  auto run = test::fresh_dir("analyze");
  write_synthetic((run / "tuples.npy").string());

  ASSERT_EQ(run_cli(run.string()), 0);
  for (const char* f : {"heads.csv", "layers.csv", "docs.csv", "head_docs.csv", "decision.json"}) ASSERT_TRUE(fs::exists(run / f)) << f;

  auto heads = read_csv(run / "heads.csv");
  ASSERT_EQ(heads.size(), 1u + kLayers * kHeads);
  const auto& hdr = heads[0];
  const int c_layer = column(hdr, "layer"), c_head = column(hdr, "head"), c_pass = column(hdr, "passes");
  const int c_r = column(hdr, "r"), c_opp = column(hdr, "strong_opposite"), c_note = column(hdr, "note");
  const int c_kv = column(hdr, "kv_head"), c_shuf = column(hdr, "shuffle_mean_r");
  int passing = 0;
  for (size_t i = 1; i < heads.size(); ++i) {
    const auto& row = heads[i];
    const int l = std::stoi(row[c_layer]), h = std::stoi(row[c_head]);
    EXPECT_EQ(std::stoi(row[c_kv]), h / (kHeads / kKv));
    const bool pass = row[c_pass] == "1";
    passing += pass;
    EXPECT_EQ(pass, l == 2 && h == 1) << "layer " << l << " head " << h << " r " << row[c_r];
    EXPECT_EQ(row[c_opp] == "1", l == 0 && h == 3) << "layer " << l << " head " << h;
    if (l == 3 && h == 0) {
      EXPECT_EQ(row[c_r], "nan");
      EXPECT_NE(row[c_note].find("constant"), std::string::npos) << row[c_note];
    } else {
      EXPECT_LT(std::fabs(std::stod(row[c_shuf])), 3.0 / std::sqrt(kDocs * (kTokens - 16.0)));
    }
    if (l == 2 && h == 1) {
      EXPECT_LT(std::stod(row[c_r]), -0.8);
    }
  }
  EXPECT_EQ(passing, 1);

  auto decision = nlohmann::json::parse(test::read_text(run / "decision.json"));
  EXPECT_EQ(decision["decision"], "GO");  // 1 of 16 heads ≥ ceil(0.05 · 16) = 1
  EXPECT_EQ(decision["heads_passing"], 1);
  EXPECT_EQ(decision["required_heads"], 1);
  ASSERT_EQ(decision["passing_heads"].size(), 1u);
  EXPECT_EQ(decision["passing_heads"][0]["layer"], 2);
  EXPECT_EQ(decision["passing_heads"][0]["head"], 1);
  ASSERT_EQ(decision["strong_opposite_heads"].size(), 1u);
  EXPECT_EQ(decision["strong_opposite_heads"][0]["head"], 3);
  EXPECT_EQ(decision["criteria"].back()["name"], "meaningful_subset");
  EXPECT_EQ(decision["criteria"].back()["verdict"], "pass");

  // Every pooled statistic, recomputed independently from tuples.npy with
  // scipy.stats / statsmodels (default min_position 16, min_doc_positions 10).
  EXPECT_EQ(test::run_python("check_run_tables.py", run.string() + " 16 10"), 0);
  EXPECT_EQ(test::run_python("check_within.py", run.string() + " 16 10 5 0.95"), 0);

  auto layers = read_csv(run / "layers.csv");
  ASSERT_EQ(layers.size(), 1u + kLayers);
  EXPECT_EQ(layers[3][column(layers[0], "heads_passing")], "1");
  auto docs = read_csv(run / "docs.csv");
  ASSERT_EQ(docs.size(), 1u + kDocs);
  EXPECT_EQ(docs[1][column(docs[0], "tokens")], std::to_string(kTokens));

  // Same input and seed: byte-identical, also with another thread count and
  // through the library entry point.
  auto other = run / "again";
  ASSERT_EQ(run_cli(run.string() + " --out " + other.string() + " --threads 1"), 0);
  for (const char* f : {"heads.csv", "layers.csv", "docs.csv", "head_docs.csv", "decision.json"})
    EXPECT_EQ(test::read_text(run / f), test::read_text(other / f)) << f;
  auto third = run / "third";
  analyze_run(run.string(), third.string(), AnalyzeOverrides{std::nullopt, std::nullopt, 2});
  for (const char* f : {"heads.csv", "layers.csv", "docs.csv", "head_docs.csv", "decision.json"})
    EXPECT_EQ(test::read_text(run / f), test::read_text(third / f)) << f;
  // Another seed changes the null columns only.
  auto fourth = run / "fourth";
  ASSERT_EQ(run_cli(run.string() + " --out " + fourth.string() + " --seed 7"), 0);
  EXPECT_NE(test::read_text(run / "heads.csv"), test::read_text(fourth / "heads.csv"));

  // A stricter meaningful subset (20% of 16 heads = 4) makes it NO-GO.
  write_file_atomic((run / "config.toml").string(),
                    "[model]\npath = \"x\"\n[criteria]\nmeaningful_fraction = 0.2\n[analysis]\npermutations = 50\n");
  ASSERT_EQ(run_cli(run.string()), 0);
  decision = nlohmann::json::parse(test::read_text(run / "decision.json"));
  EXPECT_EQ(decision["decision"], "NO-GO");
  EXPECT_EQ(decision["required_heads"], 4);
  EXPECT_EQ(decision["heads_passing"], 1);
  EXPECT_EQ(decision["config"]["analysis"]["permutations"], 50);
  EXPECT_EQ(decision["criteria"].back()["verdict"], "fail");

  // A bad key in config.toml is an error naming the key.
  write_file_atomic((run / "config.toml").string(), "[criteria]\nalpah = 0.2\n");
  EXPECT_NE(run_cli(run.string() + " 2>/dev/null"), 0);
  EXPECT_THROW(analyze_run(run.string(), "", {}), Error);
  fs::remove_all(run);
}

TEST(Analyze, MetadataIsKeptAndCsvTuplesWork) {
  auto run = test::fresh_dir("analyze_csv");
  write_synthetic((run / "tuples.csv").string());
  // The study's docs.csv metadata (source, perplexity) survives a re-analysis.
  write_file_atomic((run / "docs.csv").string(),
                    "doc,source,tokens,perplexity\n0,\"bible.txt, ch. 1\",300,12.5\n1,fortunes,300,30\n");
  auto r = analyze_run(run.string(), "", {});
  EXPECT_EQ(r.decision.verdict, Verdict::Go);
  auto text = test::read_text(run / "docs.csv");
  EXPECT_NE(text.find("0,\"bible.txt, ch. 1\",\"bible.txt, ch. 1\",A,300,12.5,"), std::string::npos) << text;
  EXPECT_NE(text.find("1,fortunes,fortunes,"), std::string::npos) << text;
  fs::remove_all(run);
}

TEST(Analyze, RowOrderDoesNotMatter) {
  // The same tuples reversed and interleaved give byte-identical tables.
  auto a = test::fresh_dir("order_a"), b = test::fresh_dir("order_b");
  write_synthetic((a / "tuples.npy").string());
  {
    TupleReader in((a / "tuples.npy").string());
    std::vector<TupleRow> rows(in.rows().begin(), in.rows().end());
    std::reverse(rows.begin(), rows.end());
    // interleave two halves so that runs are short
    std::vector<TupleRow> mixed;
    const size_t half = rows.size() / 2;
    for (size_t i = 0; i < half; ++i) mixed.push_back(rows[i]), mixed.push_back(rows[half + i]);
    for (size_t i = 2 * half; i < rows.size(); ++i) mixed.push_back(rows[i]);
    TupleWriter w((b / "tuples.npy").string());
    w.append(mixed);
    w.finish();
  }
  analyze_run(a.string(), "", {});
  analyze_run(b.string(), "", {});
  for (const char* f : {"heads.csv", "layers.csv", "docs.csv", "head_docs.csv", "decision.json"})
    EXPECT_EQ(test::read_text(a / f), test::read_text(b / f)) << f;
  // A duplicated row is an error naming the file.
  {
    TupleReader in((a / "tuples.npy").string());
    std::vector<TupleRow> rows(in.rows().begin(), in.rows().end());
    rows.push_back(rows[500]);
    TupleWriter w((b / "tuples.npy").string());
    w.append(rows);
    w.finish();
  }
  try {
    analyze_run(b.string(), "", {});
    ADD_FAILURE() << "duplicate not detected";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("duplicate"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("tuples.npy"), std::string::npos) << e.what();
  }
  fs::remove_all(a);
  fs::remove_all(b);
}
