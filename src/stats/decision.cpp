// Multiple comparisons, pass rule and GO / NO-GO; see decision.hpp.
#include "stats/decision.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include "stats/multiple_testing.hpp"

namespace spectra::stats {

namespace {

double primary_p(const HeadStats& h, const AnalysisConfig& cfg) {
  if (!h.pearson.defined()) return std::numeric_limits<double>::quiet_NaN();
  if (cfg.one_sided && cfg.direction == Direction::Negative) return h.pearson.p.less;
  if (cfg.one_sided && cfg.direction == Direction::Positive) return h.pearson.p.greater;
  return h.pearson.p.two_sided;
}

std::string fmt(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

std::string r_rule(const AnalysisConfig& cfg) {
  switch (cfg.direction) {
    case Direction::Negative: return "r <= -" + fmt(cfg.r_threshold);
    case Direction::Positive: return "r >= " + fmt(cfg.r_threshold);
    case Direction::Both: return "|r| >= " + fmt(cfg.r_threshold);
  }
  return "";
}

std::string p_rule(const AnalysisConfig& cfg) {
  std::string which = cfg.direction == Direction::Both || !cfg.one_sided
                          ? "two-sided"
                          : (cfg.direction == Direction::Negative ? "one-sided 'less'" : "one-sided 'greater'");
  return std::string(to_string(cfg.adjust)) + "-adjusted " + which + " Pearson p < " + fmt(cfg.alpha);
}

std::string null_rule(const AnalysisConfig& cfg) {
  std::string s = "mean |r*| of the within-document shuffle null <= " + fmt(cfg.null_abs_r_ceiling);
  if (cfg.require_null_percentile)
    s += " and |r| > 95th percentile of |r*| of the shuffle and of the circular-shift nulls (K = " +
         std::to_string(cfg.permutations) + ")";
  return s;
}

std::string doc_rule(const AnalysisConfig& cfg) {
  std::string side = cfg.direction == Direction::Negative   ? "r_d <= -" + fmt(cfg.doc_r_threshold)
                     : cfg.direction == Direction::Positive ? "r_d >= " + fmt(cfg.doc_r_threshold)
                                                            : "sign(r_d) = sign(r) and |r_d| >= " + fmt(cfg.doc_r_threshold);
  return "fraction of documents (with >= " + std::to_string(cfg.min_doc_positions) + " positions) with " + side +
         " is >= " + fmt(cfg.doc_agree_fraction);
}

}  // namespace

Decision decide(std::vector<HeadStats>& heads, const AnalysisConfig& cfg) {
  Decision d;
  d.heads = heads.size();
  std::vector<double> p(heads.size()), p_two(heads.size());
  for (size_t i = 0; i < heads.size(); ++i) {
    p[i] = primary_p(heads[i], cfg);
    p_two[i] = heads[i].pearson.defined() ? heads[i].pearson.p.two_sided : std::numeric_limits<double>::quiet_NaN();
  }
  const auto bh = adjust_bh(p), by = adjust_by(p), bonf = adjust_bonferroni(p), bh_two = adjust_bh(p_two);
  d.tests = count_tests(p);
  d.bonferroni_threshold = d.tests ? cfg.alpha / static_cast<double>(d.tests) : std::numeric_limits<double>::quiet_NaN();
  for (size_t i = 0; i < heads.size(); ++i) {
    HeadStats& h = heads[i];
    const double r = h.pearson.r;
    h.p_primary = p[i];
    h.p_bh = bh[i];
    h.p_by = by[i];
    h.p_bonferroni = bonf[i];
    h.p_bh_two_sided = bh_two[i];
    h.p_adjusted = cfg.adjust == Adjust::BH ? bh[i] : cfg.adjust == Adjust::BY ? by[i] : bonf[i];
    h.bonferroni_significant = p[i] < d.bonferroni_threshold;
    h.crit_n = h.pearson.defined() && h.n >= static_cast<size_t>(cfg.min_n);
    h.crit_r = cfg.direction == Direction::Negative   ? r <= -cfg.r_threshold
               : cfg.direction == Direction::Positive ? r >= cfg.r_threshold
                                                      : std::fabs(r) >= cfg.r_threshold;
    h.crit_p = h.p_adjusted < cfg.alpha;
    h.crit_null = h.shuffle.mean_abs_r <= cfg.null_abs_r_ceiling;
    if (cfg.require_null_percentile)
      h.crit_null = h.crit_null && std::fabs(r) > h.shuffle.q95_abs_r && std::fabs(r) > h.circular.q95_abs_r;
    h.crit_docs = h.rep.docs > 0 && h.rep.frac_meeting >= cfg.doc_agree_fraction;
    h.passes = h.crit_n && h.crit_r && h.crit_p && h.crit_null && h.crit_docs;
    h.strong_opposite = false;
    if (cfg.direction == Direction::Negative) h.strong_opposite = r >= cfg.r_threshold && bh_two[i] < cfg.alpha;
    if (cfg.direction == Direction::Positive) h.strong_opposite = r <= -cfg.r_threshold && bh_two[i] < cfg.alpha;
    if (h.passes) ++d.heads_passing;
  }
  d.required_heads = std::max<size_t>(
      1, static_cast<size_t>(std::ceil(cfg.meaningful_fraction * static_cast<double>(d.heads) - 1e-9)));
  d.go = d.heads > 0 && d.heads_passing >= d.required_heads;

  // Each criterion: how many heads meet it on its own, and whether that alone
  // would allow the required subset (verdict). The last one decides.
  auto count = [&](auto pred) {
    size_t k = 0;
    for (auto& h : heads) k += pred(h) ? 1 : 0;
    return k;
  };
  const double N = static_cast<double>(std::max<size_t>(d.heads, 1));
  auto head_criterion = [&](const char* name, const std::string& rule, nlohmann::ordered_json threshold, size_t k) {
    nlohmann::ordered_json c;
    c["name"] = name;
    c["scope"] = "head";
    c["rule"] = rule;
    c["threshold"] = threshold;
    c["measured"] = static_cast<double>(k) / N;
    c["heads_meeting"] = k;
    c["verdict"] = k >= d.required_heads ? "pass" : "fail";
    return c;
  };
  d.criteria = nlohmann::ordered_json::array();
  d.criteria.push_back(head_criterion("min_n", "n >= " + std::to_string(cfg.min_n) + " pooled pairs and r defined",
                                      cfg.min_n, count([](auto& h) { return h.crit_n; })));
  d.criteria.push_back(head_criterion("r_threshold", r_rule(cfg), cfg.r_threshold, count([](auto& h) { return h.crit_r; })));
  d.criteria.push_back(head_criterion("alpha", p_rule(cfg), cfg.alpha, count([](auto& h) { return h.crit_p; })));
  d.criteria.push_back(head_criterion("null_control", null_rule(cfg), cfg.null_abs_r_ceiling,
                                      count([](auto& h) { return h.crit_null; })));
  d.criteria.push_back(head_criterion("document_agreement", doc_rule(cfg), cfg.doc_agree_fraction,
                                      count([](auto& h) { return h.crit_docs; })));
  nlohmann::ordered_json m;
  m["name"] = "meaningful_subset";
  m["scope"] = "study";
  m["rule"] = "heads passing all head criteria >= max(1, ceil(" + fmt(cfg.meaningful_fraction) + " * heads)) = " +
              std::to_string(d.required_heads);
  m["threshold"] = cfg.meaningful_fraction;
  m["measured"] = static_cast<double>(d.heads_passing) / N;
  m["heads_meeting"] = d.heads_passing;
  m["verdict"] = d.go ? "pass" : "fail";
  d.criteria.push_back(m);
  return d;
}

nlohmann::ordered_json decision_json(const Decision& d, const std::vector<HeadStats>& heads, const AnalysisConfig& cfg) {
  auto num = [](double v) -> nlohmann::ordered_json {
    if (std::isfinite(v)) return v;
    return nullptr;
  };
  nlohmann::ordered_json j;
  j["decision"] = d.go ? "GO" : "NO-GO";
  j["hypothesis"] = std::string("H1: per (layer, head), the query norm ||q|| and the attention entropy H are ") +
                    (cfg.direction == Direction::Negative   ? "negatively"
                     : cfg.direction == Direction::Positive ? "positively"
                                                            : "strongly (either sign)") +
                    " correlated, pooled over tokens and documents";
  j["head_pass_rule"] = r_rule(cfg) + "; " + p_rule(cfg) + "; " + null_rule(cfg) + "; " + doc_rule(cfg) +
                        "; n >= " + std::to_string(cfg.min_n);
  j["heads"] = d.heads;
  j["tests"] = d.tests;
  j["heads_passing"] = d.heads_passing;
  j["required_heads"] = d.required_heads;
  j["fraction_passing"] = d.heads ? static_cast<double>(d.heads_passing) / static_cast<double>(d.heads) : 0.0;
  j["bonferroni_threshold"] = num(d.bonferroni_threshold);
  j["criteria"] = d.criteria;
  auto head_obj = [&](const HeadStats& h) {
    nlohmann::ordered_json o;
    o["layer"] = h.id.layer;
    o["head"] = h.id.head;
    o["kv_head"] = h.id.kv_head;
    o["r"] = num(h.pearson.r);
    o["p_adjusted"] = num(h.p_adjusted);
    o["partial_r"] = num(h.partial.r);
    o["doc_frac_meeting"] = num(h.rep.frac_meeting);
    return o;
  };
  j["passing_heads"] = nlohmann::ordered_json::array();
  j["strong_opposite_heads"] = nlohmann::ordered_json::array();
  for (auto& h : heads) {
    if (h.passes) j["passing_heads"].push_back(head_obj(h));
    if (h.strong_opposite) j["strong_opposite_heads"].push_back(head_obj(h));
  }
  j["config"] = cfg.to_json();
  return j;
}

}  // namespace spectra::stats
