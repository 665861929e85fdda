// Multiple comparisons, pass rule and GO / NO-GO; see decision.hpp.
#include "stats/decision.hpp"

#include <cmath>
#include <limits>
#include <span>
#include <sstream>

#include "stats/multiple_testing.hpp"

namespace spectra::stats {

namespace {

double sided_p(const MetaResult& m, const AnalysisConfig& cfg) {
  if (!m.defined()) return std::numeric_limits<double>::quiet_NaN();
  if (cfg.one_sided && cfg.direction == Direction::Negative) return m.p.less;
  if (cfg.one_sided && cfg.direction == Direction::Positive) return m.p.greater;
  return m.p.two_sided;
}

bool meets_r(double r, const AnalysisConfig& cfg) {
  return cfg.direction == Direction::Negative   ? r <= -cfg.r_threshold
         : cfg.direction == Direction::Positive ? r >= cfg.r_threshold
                                                : std::fabs(r) >= cfg.r_threshold;
}

std::vector<double> adjust(std::span<const double> p, const AnalysisConfig& cfg) {
  return cfg.adjust == Adjust::BH ? adjust_bh(p) : cfg.adjust == Adjust::BY ? adjust_by(p) : adjust_bonferroni(p);
}

std::string entropy_name(const AnalysisConfig& cfg) {
  return cfg.entropy == EntropyKind::Total ? "entropy H" : "content entropy H_c";
}

std::string fmt(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

std::string r_rule(const AnalysisConfig& cfg) {
  const std::string r = "pooled within-document r";
  switch (cfg.direction) {
    case Direction::Negative: return r + " <= -" + fmt(cfg.r_threshold);
    case Direction::Positive: return r + " >= " + fmt(cfg.r_threshold);
    case Direction::Both: return "|" + r + "| >= " + fmt(cfg.r_threshold);
  }
  return "";
}

std::string p_rule(const AnalysisConfig& cfg) {
  std::string which = cfg.direction == Direction::Both || !cfg.one_sided
                          ? "two-sided"
                          : (cfg.direction == Direction::Negative ? "one-sided 'less'" : "one-sided 'greater'");
  return std::string(to_string(cfg.adjust)) + "-adjusted " + which +
         " document-level p (DerSimonian-Laird random effects over documents) < " + fmt(cfg.alpha);
}

std::string null_rule(const AnalysisConfig& cfg) {
  std::string s = "mean |r*| of the cross-document null (||q|| of one document paired with the entropy of another "
                  "at the same positions) <= " + fmt(cfg.null_abs_r_ceiling);
  if (cfg.require_null_percentile)
    s += " and |r| > its 95th percentile of |r*| (K = " + std::to_string(cfg.permutations) + " derangements)";
  return s;
}

std::string doc_rule(const AnalysisConfig& cfg) {
  std::string side = cfg.direction == Direction::Negative   ? "r_d <= -" + fmt(cfg.doc_r_threshold)
                     : cfg.direction == Direction::Positive ? "r_d >= " + fmt(cfg.doc_r_threshold)
                                                            : "sign(r_d) = sign(r) and |r_d| >= " + fmt(cfg.doc_r_threshold);
  return "fraction of documents (with >= " + std::to_string(cfg.min_doc_positions) +
         " positions) whose within-document r_d has " + side +
         " is >= " + fmt(cfg.doc_agree_fraction);
}

}  // namespace

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::Go: return "GO";
    case Verdict::NoGo: return "NO-GO";
    case Verdict::Inconclusive: return "INCONCLUSIVE";
  }
  return "?";
}

Decision decide(std::vector<HeadStats>& heads, const AnalysisConfig& cfg, size_t documents) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Decision d;
  d.heads = heads.size();
  d.documents = documents;
  const size_t H = heads.size();
  std::vector<double> p(H), p_two(H), pa(H), pb(H);
  for (size_t i = 0; i < H; ++i) {
    const WithinDocStats& w = heads[i].primary(cfg);
    p[i] = sided_p(w.meta, cfg);
    p_two[i] = w.meta.defined() ? w.meta.p.two_sided : nan;
    pa[i] = sided_p(w.half_a, cfg);
  }
  const auto bh = adjust_bh(p), by = adjust_by(p), bonf = adjust_bonferroni(p), bh_two = adjust_bh(p_two);
  d.tests = count_tests(p);
  d.bonferroni_threshold = d.tests ? cfg.alpha / static_cast<double>(d.tests) : nan;
  for (size_t i = 0; i < H; ++i) {
    HeadStats& h = heads[i];
    const WithinDocStats& w = h.primary(cfg);
    const double r = w.meta.r;
    h.p_primary = p[i];
    h.p_bh = bh[i];
    h.p_by = by[i];
    h.p_bonferroni = bonf[i];
    h.p_bh_two_sided = bh_two[i];
    h.p_adjusted = cfg.adjust == Adjust::BH ? bh[i] : cfg.adjust == Adjust::BY ? by[i] : bonf[i];
    h.bonferroni_significant = p[i] < d.bonferroni_threshold;
    h.crit_n = w.meta.defined() && h.n >= static_cast<size_t>(cfg.min_n);
    h.crit_r = meets_r(r, cfg);
    h.crit_p = h.p_adjusted < cfg.alpha;
    h.crit_null = w.cross.mean_abs_r <= cfg.null_abs_r_ceiling;
    if (cfg.require_null_percentile) h.crit_null = h.crit_null && std::fabs(r) > w.cross.q95_abs_r;
    h.crit_docs = h.rep_within.docs > 0 && h.rep_within.frac_meeting >= cfg.doc_agree_fraction;
    h.passes = h.crit_n && h.crit_r && h.crit_p && h.crit_null && h.crit_docs;
    h.strong_opposite = false;
    if (cfg.direction == Direction::Negative) h.strong_opposite = r >= cfg.r_threshold && bh_two[i] < cfg.alpha;
    if (cfg.direction == Direction::Positive) h.strong_opposite = r <= -cfg.r_threshold && bh_two[i] < cfg.alpha;
    if (h.passes) ++d.heads_passing;
  }
  // Split halves: select on A (adjusted across all heads), confirm on B
  // (adjusted across the selected heads).
  const auto pa_adj = adjust(pa, cfg);
  std::vector<size_t> selected;
  for (size_t i = 0; i < H; ++i) {
    HeadStats& h = heads[i];
    h.half_a_p_adjusted = pa_adj[i];
    h.primary_half_a_r = h.primary(cfg).half_a.r;
    h.primary_half_b_r = h.primary(cfg).half_b.r;
    h.half_b_p_adjusted = nan;
    h.selected_a = h.crit_n && meets_r(h.primary(cfg).half_a.r, cfg) && pa_adj[i] < cfg.alpha;
    h.confirmed_b = false;
    if (h.selected_a) selected.push_back(i);
  }
  std::vector<double> psel(selected.size());
  for (size_t k = 0; k < selected.size(); ++k) psel[k] = sided_p(heads[selected[k]].primary(cfg).half_b, cfg);
  const auto psel_adj = adjust(psel, cfg);
  for (size_t k = 0; k < selected.size(); ++k) {
    HeadStats& h = heads[selected[k]];
    h.half_b_p_adjusted = psel_adj[k];
    h.confirmed_b = meets_r(h.primary(cfg).half_b.r, cfg) && psel_adj[k] < cfg.alpha;
    d.heads_confirmed += h.confirmed_b;
  }
  d.heads_selected = selected.size();
  bool half_b_defined = false;  // e.g. one source file: half B is empty
  for (const auto& h : heads) half_b_defined = half_b_defined || h.primary(cfg).half_b.defined();
  d.confirmation_rate = selected.empty() || !half_b_defined ? nan : static_cast<double>(d.heads_confirmed) / static_cast<double>(selected.size());

  d.required_heads = std::max<size_t>(
      1, static_cast<size_t>(std::ceil(cfg.meaningful_fraction * static_cast<double>(d.heads) - 1e-9)));
  const bool enough_docs = documents >= static_cast<size_t>(cfg.min_documents);
  const bool subset = d.heads > 0 && d.heads_passing >= d.required_heads;
  if (!enough_docs) {
    d.verdict = Verdict::Inconclusive;
    d.reason = std::to_string(documents) + " independent document" + (documents == 1 ? "" : "s") +
               " (distinct source files); at least " + std::to_string(cfg.min_documents) +
               " are needed to show an effect that holds across inputs";
  } else if (subset) {
    d.verdict = Verdict::Go;
    d.reason = std::to_string(d.heads_passing) + " of " + std::to_string(d.heads) +
               " heads pass every head criterion (at least " + std::to_string(d.required_heads) + " needed)";
  } else {
    d.verdict = Verdict::NoGo;
    d.reason = std::to_string(d.heads_passing) + " of " + std::to_string(d.heads) +
               " heads pass every head criterion; at least " + std::to_string(d.required_heads) + " are needed";
  }

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
  nlohmann::ordered_json md;
  md["name"] = "min_documents";
  md["scope"] = "study";
  md["rule"] = "independent documents (distinct source files with data) >= " + std::to_string(cfg.min_documents) +
               "; fewer: INCONCLUSIVE";
  md["threshold"] = cfg.min_documents;
  md["measured"] = documents;
  md["heads_meeting"] = nullptr;
  md["verdict"] = enough_docs ? "pass" : "fail";
  d.criteria.push_back(md);
  d.criteria.push_back(head_criterion("min_n", "n >= " + std::to_string(cfg.min_n) + " pairs and the within-document r defined",
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
  m["verdict"] = subset ? "pass" : "fail";
  d.criteria.push_back(m);
  return d;
}

nlohmann::ordered_json decision_json(const Decision& d, const std::vector<HeadStats>& heads, const AnalysisConfig& cfg) {
  auto num = [](double v) -> nlohmann::ordered_json {
    if (std::isfinite(v)) return v;
    return nullptr;
  };
  nlohmann::ordered_json j;
  j["decision"] = to_string(d.verdict);
  j["reason"] = d.reason;
  j["hypothesis"] = std::string("H1: per (layer, head), within documents and beyond what position explains, the "
                                "query norm ||q|| and the attention ") +
                    (cfg.entropy == EntropyKind::Total ? "entropy H" : "content entropy H_c") + " are " +
                    (cfg.direction == Direction::Negative   ? "negatively"
                     : cfg.direction == Direction::Positive ? "positively"
                                                            : "strongly (either sign)") +
                    " correlated, consistently across documents";
  j["statistic"] = "per document, Pearson r of the residuals of ||q|| and of the " + entropy_name(cfg) +
                   " after least-squares regression on 1, log(t+1) and a natural cubic spline in position with " +
                   std::to_string(cfg.spline_knots) +
                   " equally spaced knots; Fisher z with variance 1/(n_eff - 3), n_eff = n (1 - rho_x rho_y)/(1 + rho_x "
                   "rho_y) from the lag-1 autocorrelations of the residuals; combined over documents by "
                   "DerSimonian-Laird random effects (normal test, " +
                   fmt(cfg.confidence * 100) + "% CI)";
  j["head_pass_rule"] = r_rule(cfg) + "; " + p_rule(cfg) + "; " + null_rule(cfg) + "; " + doc_rule(cfg) +
                        "; n >= " + std::to_string(cfg.min_n);
  j["independent_documents"] = d.documents;
  j["min_documents"] = cfg.min_documents;
  j["heads"] = d.heads;
  j["tests"] = d.tests;
  j["heads_passing"] = d.heads_passing;
  j["required_heads"] = d.required_heads;
  j["fraction_passing"] = d.heads ? static_cast<double>(d.heads_passing) / static_cast<double>(d.heads) : 0.0;
  j["bonferroni_threshold"] = num(d.bonferroni_threshold);
  j["split_half"] = {{"rule", "heads selected on half A (r meets the r threshold, " + std::string(to_string(cfg.adjust)) +
                                   "-adjusted p < alpha across all heads), confirmed on half B (the same, p adjusted "
                                   "across the selected heads); halves are source files split by a seeded shuffle"},
                      {"heads_selected", d.heads_selected},
                      {"heads_confirmed", d.heads_confirmed},
                      {"confirmation_rate", num(d.confirmation_rate)}};
  j["criteria"] = d.criteria;
  auto head_obj = [&](const HeadStats& h) {
    nlohmann::ordered_json o;
    o["layer"] = h.id.layer;
    o["head"] = h.id.head;
    o["kv_head"] = h.id.kv_head;
    const WithinDocStats& w = h.primary(cfg);
    o["r"] = num(w.meta.r);
    o["ci_low"] = num(w.meta.ci_low);
    o["ci_high"] = num(w.meta.ci_high);
    o["p_adjusted"] = num(h.p_adjusted);
    o["tau2"] = num(w.meta.tau2);
    o["documents"] = w.docs;
    o["pooled_raw_r"] = num(h.pearson.r);
    o["doc_frac_meeting"] = num(h.rep_within.frac_meeting);
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
