// The issue-#14 report sections, from mechanism.csv and budget.csv: which
// channel (the norm as an inverse temperature, or the direction of q
// co-varying with its norm) carries the ‖q‖–H association, in which layers,
// and whether ‖q‖ adds anything over position for choosing a per-token
// attention budget. Association wording only; analyses whose tuple columns
// were not measured say so and are skipped.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "report/format.hpp"
#include "report/report_sections.hpp"

namespace spectra::report {

namespace {

const char* const kPolicyLabels[BudgetHead::kPolicies] = {"fixed", "position", "‖q‖", "‖q‖ + position",
                                                          "previous token's k"};

double median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

std::string list_layers(const std::vector<int>& v) {
  if (v.empty()) return "none";
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s;
}

}  // namespace

std::string mechanism_not_measured(const RunFolder& run) {
  const std::string needs =
      "needs the tuple columns entropy_fixed_norm (H_fix) and neg_var_score (−Var_p(s)), "
      "tuple record version 2 from an engine that fills them";
  if (!run.has_mechanism)
    return "Not computed for this run: it was analysed before this analysis existed (no `mechanism.csv`); "
           "`spectra analyze` computes it, and it " +
           needs + ".";
  for (const auto& m : run.mechanism)
    if (m.n > 0 || m.slope_n > 0) return "";
  return "Not measured in this run: needs entropy_fixed_norm (H_fix) and neg_var_score (−Var_p(s)) — the tuples of "
         "this run lack them (written before tuple record version 2, or by an engine that leaves them NaN), so the "
         "decomposition and the temperature slope are skipped.";
}

std::string budget_not_measured(const RunFolder& run) {
  if (!run.has_budget)
    return "Not computed for this run: it was analysed before this analysis existed (no `budget.csv`); "
           "`spectra analyze` computes it, and it needs the tuple column k_budget (k_P).";
  for (const auto& b : run.budget)
    if (b.defined()) return "";
  for (const auto& b : run.budget)
    if (b.note.find("not measured") == std::string::npos && !b.note.empty()) return "Not evaluated: " + b.note + ".";
  return "Not measured in this run: needs k_budget (k_P) — the tuples of this run lack it (written before tuple "
         "record version 2, or the budget statistic was off), so the budget evaluation is skipped.";
}

std::string section_mechanism(const RunFolder& run) {
  std::ostringstream o;
  o << "## Norm channel or direction: what carries the ‖q‖–entropy association\n\n";
  o << "With scores s_j = ‖q‖·u_j (u_j the scores of the unit query direction), the norm acts as an inverse "
       "temperature: at a fixed direction dH/d ln‖q‖ = −Var_p(s) ≤ 0. H_fix is the entropy of the same attention "
       "row with ‖q‖ replaced by the head's reference norm (the direction alone). Per head, within documents and "
       "beyond position (the decision's residualisation, AR(1) effective n and DerSimonian–Laird pooling over "
       "documents), r is the pooled r(‖q‖, H) and r_fix the pooled r(‖q‖, H_fix); the **fraction through the norm "
       "channel** is 1 − r_fix/r (undefined when |r| < 0.05 or r_fix has the other sign), and Var(H − H_fix)/Var(H) "
       "is the share of H's within-document variance carried by the norm channel. The entropy is H (its "
       "counterfactual is H_fix), whatever criteria.entropy says. Definitions: `mechanism.csv`, "
       "src/stats/mechanism.hpp.\n\n";
  const std::string nm = mechanism_not_measured(run);
  if (!nm.empty()) {
    o << nm << "\n\n";
    return o.str();
  }
  bool any_fix = false, any_slope = false;
  for (const auto& m : run.mechanism) any_fix = any_fix || m.n > 0, any_slope = any_slope || m.slope_n > 0;
  std::vector<double> frac, var, ratio;
  int64_t measured = 0, norm_dom = 0, dir_dom = 0, slope_def = 0, agree = 0, undefined_small = 0, undefined_sign = 0;
  struct LayerAgg {
    int norm = 0, dir = 0;
  };
  std::map<int, LayerAgg> layers;
  for (const auto& m : run.mechanism) {
    if (m.n == 0 && m.slope_n == 0) continue;
    ++measured;
    if (std::isfinite(m.fraction)) frac.push_back(m.fraction);
    if (std::isfinite(m.norm_dominant)) {
      if (m.norm_dominant > 0.5)
        ++norm_dom, ++layers[m.layer].norm;
      else
        ++dir_dom, ++layers[m.layer].dir;
      if (!std::isfinite(m.fraction)) ++undefined_sign;
    } else if (m.n > 0 && std::isfinite(m.r)) {
      ++undefined_small;
    }
    var.push_back(m.var_ratio);
    if (std::isfinite(m.slope_ratio)) ++slope_def, agree += m.slope_agrees, ratio.push_back(m.slope_ratio);
  }
  std::vector<int> norm_layers, dir_layers;
  for (const auto& [l, a] : layers) {
    if (a.norm > a.dir)
      norm_layers.push_back(l);
    else if (a.dir > a.norm)
      dir_layers.push_back(l);
  }
  if (!any_fix)
    o << "- **Which channel.** Not measured in this run: needs entropy_fixed_norm (H_fix); the decomposition is "
         "skipped.\n";
  else
    o << "- **Which channel.** Of " << measured << " heads with H_fix, " << norm_dom + dir_dom << " can be classified ("
      << undefined_small << " have |r| < 0.05: nothing to decompose). In **" << norm_dom
      << "** the norm channel dominates: at least half of the within-document association disappears when the norm "
         "is held fixed (in "
      << undefined_sign << " of them r_fix even has the opposite sign, so the fraction is undefined and above 1). In **"
      << dir_dom << "** less than half disappears: the direction of q, co-varying with its norm, carries most of it. "
      << "Median defined fraction " << fixed(median(frac), 2) << " (" << frac.size() << " heads).\n";
  if (any_fix)
    o << "- **Where.** Layers where norm-dominated heads are the majority: " << list_layers(norm_layers)
      << "; direction-dominated: " << list_layers(dir_layers) << ".\n";
  if (any_fix)
    o << "- **Variance.** The norm channel H − H_fix carries a median " << percent(median(var), 0)
      << " of H's within-document, beyond-position variance.\n";
  if (!any_slope)
    o << "- **Temperature slope.** Not measured in this run: needs neg_var_score (−Var_p(s)); skipped.\n";
  else
    o << "- **Temperature slope.** In " << agree << " of " << slope_def
      << " heads the observed within-document slope of H on ln‖q‖ is within ×0.8–1.25 of the median −Var_p(s), "
         "the slope expected if the association went through the temperature alone (median ratio "
      << fixed(median(ratio), 2) << ").\n";
  o << "- These are associations across tokens within documents. H_fix is computed from the same row at a "
       "different norm; it describes the softmax, not what the model would do with a different query.\n\n";
  // Per layer.
  {
    struct Row {
      int heads = 0, norm = 0, dir = 0, agree = 0, slope = 0;
      std::vector<double> frac, var;
    };
    std::map<int, Row> rows;
    for (const auto& m : run.mechanism) {
      if (m.n == 0 && m.slope_n == 0) continue;
      Row& r = rows[m.layer];
      ++r.heads;
      if (std::isfinite(m.norm_dominant)) (m.norm_dominant > 0.5 ? r.norm : r.dir)++;
      r.frac.push_back(m.fraction);
      r.var.push_back(m.var_ratio);
      if (std::isfinite(m.slope_ratio)) ++r.slope, r.agree += m.slope_agrees;
    }
    o << "| layer | heads measured | norm-dominated | direction-dominated | median fraction | median Var(H − "
         "H_fix)/Var(H) "
         "| slope agrees |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
    for (const auto& [l, r] : rows)
      o << "| " << l << " | " << r.heads << " | " << r.norm << " | " << r.dir << " | " << fixed(median(r.frac), 2)
        << " | " << fixed(median(r.var), 2) << " | " << r.agree << " of " << r.slope << " |\n";
    o << "\n";
  }
  // Strongest heads.
  std::vector<const MechanismHead*> v;
  for (const auto& m : run.mechanism)
    if (std::isfinite(m.r)) v.push_back(&m);
  std::stable_sort(v.begin(), v.end(), [](auto* a, auto* b) { return std::fabs(a->r) > std::fabs(b->r); });
  if (!v.empty()) {
    o << "Heads with the largest |r| (all heads: `mechanism.csv`):\n\n";
    o << "| head | r(‖q‖, H) | r(‖q‖, H_fix) | fraction via norm | Var(H − H_fix)/Var(H) | median −Var_p(s) | "
         "slope dH/d ln‖q‖ (CI) | ratio |\n| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |\n";
    for (size_t i = 0; i < v.size() && i < 10; ++i) {
      const MechanismHead& m = *v[i];
      o << "| " << head_label(m.layer, m.head) << " | " << fixed(m.r, 3) << " | " << fixed(m.r_fix, 3) << " | "
        << (std::isfinite(m.fraction) ? fixed(m.fraction, 2) : "undefined (" + m.fraction_note + ")") << " | "
        << fixed(m.var_ratio, 2) << " | " << fixed(m.neg_var_median, 3) << " | " << fixed(m.slope, 3) << " ("
        << fixed(m.slope_ci_low, 3) << " to " << fixed(m.slope_ci_high, 3) << ") | " << fixed(m.slope_ratio, 2)
        << " |\n";
    }
    o << "\n";
  }
  return o.str();
}

std::string section_budget(const RunFolder& run) {
  std::ostringstream o;
  o << "## Attention budget from ‖q‖ (held out)\n\n";
  o << "‖q‖ is known before attention is computed. Could it set a per-token budget of keys? Per head, monotone "
       "(isotonic) maps to log k_P (the number of keys holding the attention mass P) are fitted on half A of the "
       "seeded source-file split and evaluated on half B (documents, not tokens, are split). Policies: a fixed "
       "budget; position alone; ‖q‖; ‖q‖ + position (additive isotonic, backfitted); the previous token's k_P. "
       "Every budget is capped at the t + 1 visible keys, and every policy is brought to the **same mean budget** "
       "on half B (that of the fixed budget reaching 90% coverage on half A) by one shift in log space found by "
       "bisection, which never looks at coverage. Coverage = fraction of half-B tokens whose budget is ≥ k_P. "
       "Definitions: `budget.csv`, src/stats/budget.hpp.";
  if (std::isfinite(run.budget_mass))
    o << " Here P = " << fixed(run.budget_mass, 3) << " (`budget_mass`).";
  else
    o << " The mass P behind k_P is not recorded in this run folder.";
  o << "\n\n";
  const std::string nm = budget_not_measured(run);
  if (!nm.empty()) {
    o << nm << "\n\n";
    return o.str();
  }
  std::vector<double> cov[BudgetHead::kPolicies];
  int64_t defined = 0, q_fixed = 0, q_adds = 0, q_worse = 0, best[BudgetHead::kPolicies] = {};
  std::vector<double> gain_pos;
  std::map<int, std::pair<int, int>> layer_adds;  // layer → (adds, defined)
  for (const auto& b : run.budget) {
    if (!b.defined()) continue;
    ++defined;
    for (int k = 0; k < BudgetHead::kPolicies; ++k) cov[k].push_back(b.coverage[k]);
    q_fixed += b.coverage[2] > b.coverage[0] + 0.01;
    const double g = b.coverage[3] - b.coverage[1];
    gain_pos.push_back(g);
    q_adds += g > 0.01;
    q_worse += g < -0.01;
    auto& la = layer_adds[b.layer];
    la.first += g > 0.01, ++la.second;
    best[std::max_element(b.coverage, b.coverage + BudgetHead::kPolicies) - b.coverage]++;
  }
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? NAN : s / v.size();
  };
  o << "- Mean held-out coverage over " << defined << " heads at equal mean budget: ";
  for (int k = 0; k < BudgetHead::kPolicies; ++k)
    o << (k ? "; " : "") << kPolicyLabels[k] << " " << percent(mean(cov[k]), 1);
  o << ".\n";
  o << "- ‖q‖ alone beats the fixed budget by more than one percentage point in " << q_fixed << " of " << defined
    << " heads.\n";
  std::vector<int> adds_layers;
  for (const auto& [l, a] : layer_adds)
    if (a.second > 0 && 2 * a.first > a.second) adds_layers.push_back(l);
  o << "- **Does ‖q‖ add anything over position?** ‖q‖ + position beats position alone by more than one "
       "percentage point in **"
    << q_adds << " of " << defined << "** heads (worse in " << q_worse << "); mean gain "
    << signed_fixed(100.0 * mean(gain_pos), 1)
    << " points. Layers where it adds in most heads: " << list_layers(adds_layers) << ".\n";
  o << "- Best policy per head: ";
  for (int k = 0; k < BudgetHead::kPolicies; ++k) o << (k ? "; " : "") << kPolicyLabels[k] << " " << best[k];
  o << ". These are held-out associations between ‖q‖ and the attention spread, not a tested inference-time "
       "method.\n\n";
  // Per layer.
  std::map<int, std::vector<const BudgetHead*>> by_layer;
  for (const auto& b : run.budget)
    if (b.defined()) by_layer[b.layer].push_back(&b);
  o << "| layer | heads | fixed | position | ‖q‖ | ‖q‖ + position | previous k | ‖q‖+pos − pos |\n"
       "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const auto& [l, v] : by_layer) {
    double c[BudgetHead::kPolicies] = {};
    for (auto* b : v)
      for (int k = 0; k < BudgetHead::kPolicies; ++k) c[k] += b->coverage[k] / v.size();
    o << "| " << l << " | " << v.size();
    for (int k = 0; k < BudgetHead::kPolicies; ++k) o << " | " << percent(c[k], 1);
    o << " | " << signed_fixed(100.0 * (c[3] - c[1]), 1) << " |\n";
  }
  o << "\n";
  return o.str();
}

}  // namespace spectra::report
