// Issue #14 analyses through `spectra analyze` on synthetic tuple files
// written here (no model): the norm-channel decomposition, the temperature
// slope and the held-out budget policies, each on data where the answer is
// known; the mechanism and budget numbers are recomputed independently in
// Python (check_mechanism.py, check_budget.py); and a run folder of record-version-1 tuples still
// analyses and reports, with the new sections marked "not measured".
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "observers/tuple_file.hpp"
#include "report/csv_table.hpp"
#include "stats/budget.hpp"
#include "test_helpers.hpp"

using namespace spectra;
namespace fs = std::filesystem;
using report::CsvTable;
using test_support::run_spectra;

namespace {

constexpr int kDocs = 10, kTokens = 160, kScores = 32;
constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

struct SoftmaxStats {
  double H, neg_var;
  int k90;
};

// Entropy, −Var_p(s) and the 0.9-mass budget of softmax(s).
SoftmaxStats softmax_stats(const std::vector<double>& s) {
  const double m = *std::max_element(s.begin(), s.end());
  double z = 0;
  for (double v : s) z += std::exp(v - m);
  double mean = 0, mean2 = 0, H = 0;
  std::vector<double> p(s.size());
  for (size_t j = 0; j < s.size(); ++j) {
    p[j] = std::exp(s[j] - m) / z;
    mean += p[j] * s[j];
    mean2 += p[j] * s[j] * s[j];
    if (p[j] > 0) H -= p[j] * std::log(p[j]);
  }
  std::sort(p.begin(), p.end(), std::greater<>());
  double acc = 0;
  int k = 0;
  while (k < static_cast<int>(p.size()) && acc < 0.9) acc += p[k++];
  return {H, -(mean2 - mean * mean), k};
}

TupleRow base_row(int d, int l, int h, int t) {
  TupleRow r{};
  r.doc = d, r.layer = l, r.head = h, r.kv_head = h, r.pos = t, r.token = 100 + t;
  r.sink_mass = 0.1f, r.max_attn = 0.5f;
  r.entropy_fixed_norm = r.neg_var_score = r.max_score = r.logsumexp = r.k_budget = kNaNf;
  return r;
}

// Layer 0 (mechanism; every score vector has kScores entries, direction u_d
// fixed per document):
//   head 0 "norm":      s = ‖q‖·u_d. H_fix = H(softmax(c·u_d)) is constant
//                       within a document: the association is all temperature.
//   head 1 "direction": ‖q‖ varies, and the direction's sharpness a_t falls
//                       as ‖q‖ rises: s = c·a_t·u_d with H_fix = H (holding
//                       the norm fixed changes nothing) and H rising with ‖q‖
//                       while −Var_p(s) < 0 (slope disagrees).
// Layer 1 (budget; only k_budget, q_norm and position matter):
//   head 0: k set by ‖q‖;  head 1: k set by position;  head 2: k an AR(1)
//   series of its own (the previous token's k predicts it).
void write_synthetic(const std::string& path) {
  std::mt19937_64 gen(1414);
  std::normal_distribution<double> nd;
  TupleWriter w(path);
  std::vector<TupleRow> rows;
  for (int d = 0; d < kDocs; ++d) {
    rows.clear();
    std::vector<double> u(kScores);
    for (auto& v : u) v = 1.2 * nd(gen);
    // Layer 0.
    for (int h = 0; h < 2; ++h) {
      std::vector<double> lq(kTokens);
      double e = 0;
      for (int t = 0; t < kTokens; ++t) lq[t] = std::log(1.5) + (e = 0.5 * e + 0.17 * nd(gen));
      double c = 0;
      for (int t = 0; t < kTokens; ++t) c += std::exp(lq[t]) / kTokens;
      for (int t = 0; t < kTokens; ++t) {
        TupleRow r = base_row(d, 0, h, t);
        const double q = std::exp(lq[t]);
        std::vector<double> s(kScores), sf(kScores);
        if (h == 0) {
          for (int j = 0; j < kScores; ++j) s[j] = q * u[j], sf[j] = c * u[j];
        } else {
          const double a = std::exp(-1.5 * (lq[t] - std::log(1.5)) + 0.05 * nd(gen));
          for (int j = 0; j < kScores; ++j) s[j] = sf[j] = c * a * u[j];
        }
        const SoftmaxStats st = softmax_stats(s), sft = softmax_stats(sf);
        r.q_norm = static_cast<float>(q);
        r.entropy = static_cast<float>(st.H);
        r.entropy_fixed_norm = static_cast<float>(sft.H);
        r.neg_var_score = static_cast<float>(st.neg_var);
        r.k_budget = static_cast<float>(std::min(st.k90, t + 1));
        rows.push_back(r);
      }
    }
    // Layer 1.
    for (int h = 0; h < 3; ++h) {
      double ar = 0;
      for (int t = 0; t < kTokens; ++t) {
        TupleRow r = base_row(d, 1, h, t);
        const double zq = nd(gen);
        r.q_norm = static_cast<float>(10.0 * std::exp(0.4 * zq));
        r.entropy = static_cast<float>(2.0 + 0.3 * nd(gen));
        double k;
        if (h == 0)
          k = std::exp(1.6 + 1.0 * zq + 0.15 * nd(gen));
        else if (h == 1)
          k = 0.3 * (t + 1) * std::exp(0.2 * nd(gen));
        else
          k = std::exp(2.0 + (ar = 0.95 * ar + 0.3 * nd(gen)));
        r.k_budget = static_cast<float>(std::clamp(std::round(k), 1.0, t + 1.0));
        rows.push_back(r);
      }
    }
    w.append(rows);
  }
  w.finish();
}

fs::path make_run(const std::string& name) {
  const fs::path dir = test::fresh_dir(name);
  write_synthetic((dir / "tuples.npy").string());
  test_support::write_file(dir / "config.toml", "[analysis]\npermutations = 10\n");
  const auto res = run_spectra("analyze " + test_support::quote(dir.string()));
  EXPECT_EQ(res.status, 0) << res.output;
  return dir;
}

size_t row_of(const CsvTable& t, int layer, int head) {
  for (size_t i = 0; i < t.rows(); ++i)
    if (t.integer(i, t.column("layer")) == layer && t.integer(i, t.column("head")) == head) return i;
  ADD_FAILURE() << "no row for layer " << layer << " head " << head << " in " << t.path();
  return 0;
}

double num(const CsvTable& t, int layer, int head, const std::string& col) {
  return t.number(row_of(t, layer, head), t.column(col));
}

class Mechanism : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { run_ = new fs::path(make_run("mech")); }
  static void TearDownTestSuite() {
    fs::remove_all(*run_);
    delete run_;
  }
  static fs::path* run_;
};
fs::path* Mechanism::run_ = nullptr;

}  // namespace

TEST_F(Mechanism, DecompositionNormChannelAndDirectionChannel) {
  const CsvTable m = CsvTable::read((*run_ / "mechanism.csv").string());
  const CsvTable heads = CsvTable::read((*run_ / "heads.csv").string());
  // Norm channel only: H_fix has no variation beyond position ⇒ fraction 1,
  // and the norm channel carries all of H's within-document variance.
  EXPECT_LT(num(m, 0, 0, "r"), -0.5);
  EXPECT_EQ(num(m, 0, 0, "r_fix"), 0.0);
  EXPECT_NEAR(num(m, 0, 0, "fraction_norm"), 1.0, 1e-9);
  EXPECT_NEAR(num(m, 0, 0, "var_ratio_norm"), 1.0, 1e-6);
  EXPECT_EQ(num(m, 0, 0, "docs"), kDocs);
  // Same rows, same statistic: r equals the decision's within-document r.
  EXPECT_NEAR(num(m, 0, 0, "r"), num(heads, 0, 0, "within_r"), 1e-12);
  // Direction channel only: H_fix == H ⇒ fraction 0 and no variance in H − H_fix.
  EXPECT_GT(num(m, 0, 1, "r"), 0.5);
  EXPECT_NEAR(num(m, 0, 1, "r_fix"), num(m, 0, 1, "r"), 1e-12);
  EXPECT_NEAR(num(m, 0, 1, "fraction_norm"), 0.0, 1e-9);
  EXPECT_NEAR(num(m, 0, 1, "var_ratio_norm"), 0.0, 1e-9);
  // Budget heads have no H_fix: not measured, said so.
  EXPECT_EQ(num(m, 1, 0, "n"), 0);
  EXPECT_TRUE(std::isnan(num(m, 1, 0, "fraction_norm")));
  EXPECT_NE(m.text(row_of(m, 1, 0), m.column("note")).find("not measured in this run: needs entropy_fixed_norm"),
            std::string::npos);
}

TEST_F(Mechanism, TemperatureSlopeAgreesOnlyForTheNormChannel) {
  const CsvTable m = CsvTable::read((*run_ / "mechanism.csv").string());
  // Temperature channel: observed dH/d ln‖q‖ ≈ median −Var_p(s).
  const double pred0 = num(m, 0, 0, "neg_var_median"), obs0 = num(m, 0, 0, "slope");
  EXPECT_LT(pred0, -0.1);
  EXPECT_NEAR(obs0 / pred0, 1.0, 0.15) << obs0 << " vs " << pred0;
  EXPECT_EQ(num(m, 0, 0, "slope_agrees"), 1);
  // Direction channel: H rises with ‖q‖ although −Var_p(s) < 0.
  EXPECT_LT(num(m, 0, 1, "neg_var_median"), 0);
  EXPECT_GT(num(m, 0, 1, "slope"), 0);
  EXPECT_GT(num(m, 0, 1, "slope_ci_low"), 0);
  EXPECT_EQ(num(m, 0, 1, "slope_agrees"), 0);
  const CsvTable ml = CsvTable::read((*run_ / "mechanism_layers.csv").string());
  ASSERT_EQ(ml.rows(), 2u);
  EXPECT_EQ(ml.integer(0, ml.column("layer")), 0);
  EXPECT_EQ(ml.integer(0, ml.column("heads_norm_dominant")), 1);
  EXPECT_EQ(ml.integer(0, ml.column("heads_direction_dominant")), 1);
  EXPECT_EQ(ml.integer(0, ml.column("heads_slope_agree")), 1);
  EXPECT_EQ(ml.integer(1, ml.column("heads_measured")), 0);
}

TEST_F(Mechanism, BudgetPoliciesWhereTheBestOneIsKnown) {
  const CsvTable b = CsvTable::read((*run_ / "budget.csv").string());
  auto cov = [&](int head, const char* p) { return num(b, 1, head, std::string("coverage_") + p); };
  for (int h = 0; h < 3; ++h) {
    EXPECT_EQ(num(b, 1, h, "docs_fit"), kDocs / 2);
    EXPECT_EQ(num(b, 1, h, "docs_eval"), kDocs / 2);
    EXPECT_GE(num(b, 1, h, "fit_coverage"), 0.9);
    for (const char* p : stats::kBudgetPolicyNames)  // every policy at the same mean budget
      EXPECT_NEAR(num(b, 1, h, std::string("budget_") + p), num(b, 1, h, "mean_budget"),
                  1e-6 * num(b, 1, h, "mean_budget"))
          << p;
  }
  // k set by ‖q‖: the ‖q‖ policy beats fixed and position clearly.
  EXPECT_GT(cov(0, "qnorm"), cov(0, "fixed") + 0.05);
  EXPECT_GT(cov(0, "qnorm"), cov(0, "position") + 0.05);
  EXPECT_EQ(num(b, 1, 0, "dir_qnorm"), 1);
  // k set by position: position beats fixed; ‖q‖ adds nothing over position.
  EXPECT_GT(cov(1, "position"), cov(1, "fixed") + 0.05);
  EXPECT_LT(std::fabs(cov(1, "qnorm_position") - cov(1, "position")), 0.02);
  EXPECT_LT(cov(1, "qnorm"), cov(1, "position") - 0.05);
  // k autocorrelated: the previous token's k wins.
  for (const char* p : {"fixed", "position", "qnorm", "qnorm_position"})
    EXPECT_GT(cov(2, "prev_k"), cov(2, p) + 0.03) << p;
  // Mechanism heads have a k too (from the softmax); the layer table exists.
  const CsvTable bl = CsvTable::read((*run_ / "budget_layers.csv").string());
  EXPECT_EQ(bl.rows(), 2u);
}

TEST_F(Mechanism, BudgetCoverageRecomputedInPython) {
  EXPECT_EQ(test::run_python("check_budget.py", test_support::quote(run_->string()) + " 16"), 0);
}

TEST_F(Mechanism, DecompositionAndSlopeRecomputedInPython) {
  EXPECT_EQ(test::run_python("check_mechanism.py", test_support::quote(run_->string()) + " 16 10 5"), 0);
}

TEST_F(Mechanism, AnalysisIsDeterministic) {
  const std::string m1 = test::read_text(*run_ / "mechanism.csv"), b1 = test::read_text(*run_ / "budget.csv");
  const fs::path out = *run_ / "again";
  const auto res = run_spectra("analyze " + test_support::quote(run_->string()) + " --threads 1 --out " +
                               test_support::quote(out.string()));
  ASSERT_EQ(res.status, 0) << res.output;
  EXPECT_EQ(test::read_text(out / "mechanism.csv"), m1);
  EXPECT_EQ(test::read_text(out / "budget.csv"), b1);
}

// A run folder whose tuples were written before #14 (record version 1, by
// numpy) analyses and reports; the new sections say what they need.
TEST(MechanismOldRun, Version1TuplesAnalyseAndReportAsNotMeasured) {
  const fs::path dir = test::fresh_dir("mech_v1");
  // As the writer before #14 wrote it (numpy-written v1 files: test_tuple_file.cpp).
  {
    std::mt19937_64 gen(7);
    std::normal_distribution<double> nd;
    std::vector<TupleRowV1> rows;
    for (int d = 0; d < 6; ++d)
      for (int h = 0; h < 2; ++h)
        for (int t = 0; t < 80; ++t) {
          const double q = 10 + nd(gen);
          rows.push_back(
              {d, 0, h, h, t, 5, static_cast<float>(q), static_cast<float>(3 - 0.2 * q + 0.1 * nd(gen)), 0.2f, 0.5f});
        }
    test_support::write_file(dir / "tuples.npy", test_support::tuple_v1_npy(rows));
  }
  EXPECT_EQ(tuple_npy_file_version((dir / "tuples.npy").string()), 1);
  test_support::write_file(dir / "config.toml", "[analysis]\npermutations = 5\n");
  auto res = run_spectra("analyze " + test_support::quote(dir.string()));
  ASSERT_EQ(res.status, 0) << res.output;
  const CsvTable m = CsvTable::read((dir / "mechanism.csv").string());
  const CsvTable b = CsvTable::read((dir / "budget.csv").string());
  ASSERT_EQ(m.rows(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(m.integer(i, m.column("n")), 0);
    EXPECT_NE(m.text(i, m.column("note")).find("not measured in this run: needs entropy_fixed_norm"),
              std::string::npos);
    EXPECT_NE(b.text(i, b.column("note")).find("not measured in this run: needs k_budget"), std::string::npos);
  }
  res = run_spectra("report " + test_support::quote(dir.string()) + " --no-figures");
  ASSERT_EQ(res.status, 0) << res.output;
  const std::string md = test::read_text(dir / "report.md");
  EXPECT_NE(md.find("## Norm channel or direction"), std::string::npos);
  EXPECT_NE(md.find("Not measured in this run: needs entropy_fixed_norm"), std::string::npos) << md;
  EXPECT_NE(md.find("## Attention budget from ‖q‖"), std::string::npos);
  EXPECT_NE(md.find("Not measured in this run: needs k_budget"), std::string::npos);
  const std::string html = test::read_text(dir / "report.html");
  EXPECT_NE(html.find("Not measured in this run: needs k_budget"), std::string::npos);
  // A folder analysed before #14 (no mechanism.csv / budget.csv) still reports.
  fs::remove(dir / "mechanism.csv"), fs::remove(dir / "budget.csv");
  res = run_spectra("report " + test_support::quote(dir.string()) + " --no-figures");
  ASSERT_EQ(res.status, 0) << res.output;
  const std::string md2 = test::read_text(dir / "report.md");
  EXPECT_NE(md2.find("Not computed for this run: it was analysed before this analysis existed (no `mechanism.csv`)"),
            std::string::npos);
  EXPECT_NE(md2.find("(no `budget.csv`)"), std::string::npos);
  fs::remove_all(dir);
}

// The report of the synthetic run: the two sections with their numbers, the
// three kinds of figures, and byte-identical output when run again.
TEST_F(Mechanism, ReportShowsTheNewSectionsAndFigures) {
  const std::string dir = test_support::quote(run_->string());
  auto res = run_spectra("report " + dir);
  ASSERT_EQ(res.status, 0) << res.output;
  const std::string md = test::read_text(*run_ / "report.md");
  EXPECT_NE(md.find("## Norm channel or direction"), std::string::npos);
  EXPECT_EQ(md.find("Not measured in this run"), std::string::npos);
  // Layer 0: one norm-dominated head (L0 H0), one direction-dominated (L0 H1).
  EXPECT_NE(md.find("In **1** the norm channel dominates"), std::string::npos) << md;
  EXPECT_NE(md.find("In **1** less than half disappears"), std::string::npos);
  EXPECT_NE(md.find("| L0 H0 | "), std::string::npos);
  EXPECT_NE(md.find("## Attention budget from ‖q‖ (held out)"), std::string::npos);
  EXPECT_NE(md.find("**Does ‖q‖ add anything over position?**"), std::string::npos);
  EXPECT_NE(md.find("The mass P behind k_P is not recorded in this run folder."), std::string::npos);
  for (const char* f : {"heatmap_norm_fraction", "mechanism_L0_H0", "mechanism_L0_H1", "budget_coverage"}) {
    EXPECT_TRUE(fs::exists(*run_ / "figures" / (std::string(f) + ".png"))) << f;
    EXPECT_NE(md.find(std::string("figures/") + f + ".png"), std::string::npos) << f;
  }
  const std::string html = test::read_text(*run_ / "report.html");
  EXPECT_NE(html.find("<section id=\"mechanism\">"), std::string::npos);
  EXPECT_NE(html.find("<section id=\"budget\">"), std::string::npos);
  res = run_spectra("report " + dir);
  ASSERT_EQ(res.status, 0) << res.output;
  EXPECT_EQ(test::read_text(*run_ / "report.md"), md);
  EXPECT_EQ(test::read_text(*run_ / "report.html"), html);
  // A study's config.toml records P; the budget section states it.
  test_support::write_file(*run_ / "config.toml", "budget_mass = 0.75\n");
  res = run_spectra("report " + dir + " --no-figures");
  fs::remove(*run_ / "config.toml");
  ASSERT_EQ(res.status, 0) << res.output;
  EXPECT_NE(test::read_text(*run_ / "report.md").find("Here P = 0.750 (`budget_mass`)."), std::string::npos);
}
