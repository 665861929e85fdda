// Statistics against scipy / statsmodels / numpy references (stats_reference.py):
// Pearson, Spearman (two-sided and 'less'), Fisher CI, partial correlation,
// BH / BY / Bonferroni, percentile, Fisher-z t test, average ranks; to 1e-9.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "stats/correlation.hpp"
#include "stats/multiple_testing.hpp"
#include "stats/null_controls.hpp"
#include "stats/ranks.hpp"
#include "stats/reproducibility.hpp"
#include "test_helpers.hpp"

using namespace spectra;
using namespace spectra::stats;
using nlohmann::json;

namespace {

const json& reference() {
  static json ref = [] {
    auto dir = test::fresh_dir("ref");
    auto path = (dir / "ref.json").string();
    EXPECT_EQ(test::run_python("stats_reference.py", path), 0);
    std::ifstream in(path);
    json j = json::parse(in);
    std::filesystem::remove_all(dir);
    return j;
  }();
  return ref;
}

std::vector<double> vec(const json& j) {
  std::vector<double> v;
  for (auto& a : j) v.push_back(a.is_null() ? std::nan("") : a.get<double>());
  return v;
}

// null in the reference = NaN expected; otherwise |a − b| ≤ 1e-9, and for tiny
// p-values also relative agreement.
void expect_close(double got, const json& want, const std::string& what, bool relative = true) {
  if (want.is_null()) {
    EXPECT_TRUE(std::isnan(got)) << what << ": expected NaN, got " << got;
    return;
  }
  const double w = want.get<double>();
  EXPECT_NEAR(got, w, 1e-9) << what;
  if (relative && w != 0 && std::fabs(w) < 1e-6 && std::fabs(w) > 1e-250) {
    EXPECT_NEAR(got / w, 1.0, 1e-6) << what << " (relative)";
  }
}

}  // namespace

TEST(Statistics, PearsonSpearmanPartialMatchScipy) {
  const json& ref = reference();
  ASSERT_TRUE(ref.contains("cases"));
  for (const auto& c : ref["cases"]) {
    const std::string name = c["name"];
    const auto x = vec(c["x"]), y = vec(c["y"]), z = vec(c["z"]);
    SCOPED_TRACE(name);
    // "perfect": r = 1 up to rounding (scipy 0.9999999999999997); tiny p-values
    // then only reflect rounding, so compare them absolutely only.
    const bool rel = name != "perfect";
    const Correlation p = pearson(x, y);
    expect_close(p.r, c["pearson"]["r"], name + " pearson r");
    expect_close(p.p.two_sided, c["pearson"]["p_two"], name + " pearson p two-sided", rel);
    expect_close(p.p.less, c["pearson"]["p_less"], name + " pearson p less", rel);
    expect_close(p.p.greater, c["pearson"]["p_greater"], name + " pearson p greater", rel);
    expect_close(p.ci_low, c["pearson"]["ci_low"], name + " ci low");
    expect_close(p.ci_high, c["pearson"]["ci_high"], name + " ci high");
    if (c["pearson"].contains("ci_low_formula")) {
      expect_close(p.ci_low, c["pearson"]["ci_low_formula"], name + " ci low formula");
      expect_close(p.ci_high, c["pearson"]["ci_high_formula"], name + " ci high formula");
    }
    const Correlation s = spearman(x, y);
    expect_close(s.r, c["spearman"]["r"], name + " spearman rho");
    expect_close(s.p.two_sided, c["spearman"]["p_two"], name + " spearman p two-sided", rel);
    expect_close(s.p.less, c["spearman"]["p_less"], name + " spearman p less", rel);
    const Correlation pc = partial_correlation(x, y, z);
    expect_close(pc.r, c["partial"]["r"], name + " partial r");
    expect_close(pc.p.two_sided, c["partial"]["p_two"], name + " partial p two-sided", rel);
    expect_close(pc.p.less, c["partial"]["p_less"], name + " partial p less", rel);
    if (c["pearson"]["r"].is_null()) {
      EXPECT_FALSE(p.note.empty()) << "an undefined r must say why";
      EXPECT_NE(p.note.find("constant"), std::string::npos) << p.note;
    } else {
      EXPECT_TRUE(p.note.empty()) << p.note;
    }
  }
}

TEST(Statistics, MultipleTestingMatchesStatsmodels) {
  const json& mt = reference()["multiple_testing"];
  const auto p = vec(mt["p"]);
  const auto bh = adjust_bh(p), by = adjust_by(p), bonf = adjust_bonferroni(p);
  for (size_t i = 0; i < p.size(); ++i) {
    EXPECT_NEAR(bh[i], mt["bh"][i].get<double>(), 1e-9) << i;
    EXPECT_NEAR(bh[i], mt["bh_scipy"][i].get<double>(), 1e-9) << i;
    EXPECT_NEAR(by[i], mt["by"][i].get<double>(), 1e-9) << i;
    EXPECT_NEAR(by[i], mt["by_scipy"][i].get<double>(), 1e-9) << i;
    EXPECT_NEAR(bonf[i], mt["bonferroni"][i].get<double>(), 1e-9) << i;
  }
  // NaN p-values are left out of m and stay NaN.
  std::vector<double> q = p;
  q.insert(q.begin() + 3, std::nan(""));
  const auto bhq = adjust_bh(q);
  EXPECT_TRUE(std::isnan(bhq[3]));
  EXPECT_EQ(count_tests(q), p.size());
  for (size_t i = 0; i < p.size(); ++i) EXPECT_EQ(bhq[i < 3 ? i : i + 1], bh[i]);
}

TEST(Statistics, PercentileRanksFisherMatchNumpyScipy) {
  const json& ref = reference();
  auto v = vec(ref["percentile"]["v"]);
  for (auto& a : v) a = std::fabs(a);
  EXPECT_NEAR(percentile_linear(v, 95.0), ref["percentile"]["q95"].get<double>(), 1e-12);

  const auto ranks = average_ranks(vec(ref["ranks"]["v"]));
  const auto want = vec(ref["ranks"]["ranks"]);
  ASSERT_EQ(ranks.size(), want.size());
  for (size_t i = 0; i < ranks.size(); ++i) EXPECT_EQ(ranks[i], want[i]);

  const json& fz = ref["fisher"];
  AnalysisConfig cfg;
  const auto rd = vec(fz["r_d"]);
  const Reproducibility rep = reproducibility(rd, -0.4, cfg);
  EXPECT_EQ(rep.docs, rd.size());
  EXPECT_NEAR(rep.doc_r_mean, fz["mean"].get<double>(), 1e-12);
  EXPECT_NEAR(rep.doc_r_sd, fz["sd"].get<double>(), 1e-12);
  EXPECT_NEAR(rep.fisher_z_mean, fz["z_mean"].get<double>(), 1e-12);
  EXPECT_NEAR(rep.fisher_t, fz["t"].get<double>(), 1e-9);
  EXPECT_NEAR(rep.fisher_p.two_sided, fz["p_two"].get<double>(), 1e-9);
  EXPECT_NEAR(rep.fisher_p.less, fz["p_less"].get<double>(), 1e-9);
  size_t meet = 0;
  for (double r : rd) meet += r <= -0.5;
  EXPECT_DOUBLE_EQ(rep.frac_meeting, static_cast<double>(meet) / rd.size());
}

TEST(Statistics, UndefinedCasesGiveNaNWithReason) {
  std::vector<double> c(5, 1.0), x = {1, 2, 3, 4, 5};
  for (const Correlation& r : {pearson(c, x), spearman(c, x), partial_correlation(c, x, x)}) {
    EXPECT_TRUE(std::isnan(r.r));
    EXPECT_TRUE(std::isnan(r.p.two_sided));
    EXPECT_FALSE(r.note.empty());
  }
  // y exactly linear in z: zero residual
  std::vector<double> y = {2, 4, 6, 8, 10};
  const Correlation pc = partial_correlation(std::vector<double>{1, 3, 2, 5, 4}, y, x);
  EXPECT_TRUE(std::isnan(pc.r));
  EXPECT_NE(pc.note.find("residual"), std::string::npos) << pc.note;
  const Correlation one = pearson(std::vector<double>{1.0}, std::vector<double>{2.0});
  EXPECT_EQ(one.note, "n<2");
  EXPECT_TRUE(std::isnan(pearson_r(c, x)));
}
