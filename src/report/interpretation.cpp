// The interpretation section, written from the numbers of heads.csv and the
// tuple digest: layer pattern, sign mix, effect of the position control,
// strongest heads with CIs, null controls, cross-document consistency and
// caveats. Every sentence is built from measured values; nothing is canned
// beyond the wording of the caveats.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "report/format.hpp"
#include "report/report_writers.hpp"

namespace spectra::report {

namespace {

double median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

std::string plural(int64_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string layer_list(const std::vector<int>& layers) {
  std::string s;
  for (size_t i = 0; i < layers.size(); ++i) s += (i ? ", " : "") + std::to_string(layers[i]);
  return s;
}

}  // namespace

std::string interpretation_markdown(const RunFolder& run, const TupleDigest& digest) {
  std::ostringstream o;
  const auto& H = run.heads;
  const int64_t n_heads = static_cast<int64_t>(H.size());
  // The decision's statistic: the within-document, position-controlled r
  // (older runs without it: the pooled r, said so).
  bool has_within = false;
  for (const auto& h : H) has_within = has_within || std::isfinite(h.within_r);
  auto pr = [&](const HeadStat& h) { return has_within ? h.within_r : h.r; };
  const std::string stat_name = has_within ? "within-document, position-controlled r" : "pooled r";
  const nlohmann::json cfg = run.config_json.is_object() ? run.config_json : nlohmann::json::object();
  auto crit = [&](const char* key, const nlohmann::json& dflt) {
    return cfg.contains("criteria") && cfg["criteria"].contains(key) ? cfg["criteria"][key] : dflt;
  };
  const std::string direction = crit("direction", "negative").get<std::string>();
  const std::string entropy = crit("entropy", "total").get<std::string>();
  const std::string ent_name = entropy == "content" ? "content entropy H_c" : "entropy H";
  int64_t n_pass = 0, pass_neg = 0, n_neg = 0, n_finite = 0, raw_neg = 0, raw_finite = 0;
  for (const auto& h : H) {
    n_pass += h.passes;
    if (h.passes && pr(h) < 0) ++pass_neg;
    if (std::isfinite(pr(h))) {
      ++n_finite;
      n_neg += pr(h) < 0;
    }
    if (std::isfinite(h.r)) ++raw_finite, raw_neg += h.r < 0;
  }

  // --- Headline: the decision and "in k of N heads", never unqualified.
  o << "**Decision: " << run.decision << ".** ";
  if (!run.reason.empty()) o << run.reason << ". ";
  o << "By the criteria above, ‖q‖ and the " << ent_name << " are associated (" << stat_name << ", "
    << direction << " direction) in **" << n_pass << " of " << n_heads << " heads** ("
    << percent(n_heads ? double(n_pass) / n_heads : NAN, 1) << ")";
  if (n_pass)
    o << ": in " << pass_neg << " of them larger ‖q‖ goes with lower entropy, in " << n_pass - pass_neg
      << " with higher entropy";
  o << ". The association is a correlation within documents; it says nothing about cause. Over all heads, " << n_neg
    << " of " << n_finite << " have a negative " << stat_name;
  if (has_within) o << " (" << raw_neg << " of " << raw_finite << " a negative pooled raw r, which mixes documents and position)";
  o << ".\n\n";
  if (run.decision == "INCONCLUSIVE")
    o << "The study is **INCONCLUSIVE**: with too few independent documents no head count can show an association "
         "that holds across inputs, whatever the per-head numbers below.\n\n";

  // --- Layer pattern.
  struct LayerAgg {
    double sum_r = 0, sum_abs = 0;
    int n = 0, pass = 0, pos = 0, neg = 0;
  };
  std::map<int, LayerAgg> agg;
  for (const auto& h : H) {
    auto& a = agg[h.layer];
    if (std::isfinite(pr(h))) {
      a.sum_r += pr(h);
      a.sum_abs += std::fabs(pr(h));
      ++a.n;
    }
    if (h.passes) {
      ++a.pass;
      (pr(h) < 0 ? a.neg : a.pos)++;
    }
  }
  int lo_layer = -1, hi_layer = -1;
  double lo_abs = INFINITY, hi_abs = -INFINITY;
  for (const auto& [l, a] : agg) {
    if (!a.n) continue;
    const double m = a.sum_abs / a.n;
    if (m < lo_abs) lo_abs = m, lo_layer = l;
    if (m > hi_abs) hi_abs = m, hi_layer = l;
  }
  o << "### Layer by layer\n\n";
  if (lo_layer >= 0)
    o << "- Mean |" << stat_name << "| per layer ranges from " << fixed(lo_abs, 3) << " (layer " << lo_layer << ") to "
      << fixed(hi_abs, 3) << " (layer " << hi_layer << ").\n";
  {
    const int L = run.n_layers, quarters = std::min(4, std::max(1, L));
    std::string parts;
    for (int q = 0; q < quarters; ++q) {
      const int a = q * L / quarters, b = (q + 1) * L / quarters;
      int pass = 0, heads = 0;
      for (const auto& h : H)
        if (h.layer >= a && h.layer < b) {
          ++heads;
          pass += h.passes;
        }
      parts += std::string(q ? "; " : "") +
               (b - 1 > a ? "layers " + std::to_string(a) + "–" + std::to_string(b - 1) : "layer " + std::to_string(a)) + ": " +
               std::to_string(pass) + "/" + std::to_string(heads);
    }
    o << "- Passing heads by layer quarter: " << parts << ".\n";
  }
  {
    std::vector<int> top;
    int best = 0;
    for (const auto& [l, a] : agg) best = std::max(best, a.pass);
    for (const auto& [l, a] : agg)
      if (best > 0 && a.pass == best) top.push_back(l);
    if (!top.empty())
      o << "- The most passing heads (" << best << ") sit in layer" << (top.size() > 1 ? "s " : " ") << layer_list(top)
        << ".\n";
    std::vector<int> mixed;
    for (const auto& [l, a] : agg)
      if (a.pos > 0 && a.neg > 0) mixed.push_back(l);
    if (n_pass)
      o << "- Sign mix among passing heads: " << pass_neg << " negative, " << n_pass - pass_neg << " positive"
        << (mixed.empty() ? "; no layer holds passing heads of both signs" : "; layers with both signs: " + layer_list(mixed))
        << ".\n";
  }
  // Position and documents: from the pooled raw r to the decision's statistic.
  {
    std::vector<double> abs_r, abs_p, abs_w;
    int64_t flips = 0, halved = 0, strong = 0;
    for (const auto& h : H) {
      if (!std::isfinite(h.r)) continue;
      abs_r.push_back(std::fabs(h.r));
      if (std::isfinite(h.partial_r)) abs_p.push_back(std::fabs(h.partial_r));
      if (std::isfinite(h.within_r)) abs_w.push_back(std::fabs(h.within_r));
      const double ctl = has_within ? h.within_r : h.partial_r;
      if (std::fabs(h.r) >= 0.1 && std::isfinite(ctl)) {
        ++strong;
        if (h.r * ctl < 0) ++flips;
        if (std::fabs(ctl) < 0.5 * std::fabs(h.r)) ++halved;
      }
    }
    o << "- Pooled over all rows, the median |r| is " << fixed(median(abs_r), 3) << "; with log(t+1) partialled out "
      << fixed(median(abs_p), 3);
    if (has_within)
      o << "; within documents, controlling position by log(t+1) and a spline, " << fixed(median(abs_w), 3);
    o << ". Of the " << strong << " heads with pooled |r| ≥ 0.1, " << halved << " lose more than half of |r| and "
      << flips << " change sign under the " << (has_within ? "within-document, position-controlled" : "position-controlled")
      << " statistic";
    o << (strong && halved * 2 > strong
              ? " — much of the pooled association runs through position or differences between documents.\n"
              : ".\n");
    std::vector<double> rn;
    for (const auto& h : H) rn.push_back(std::fabs(h.r_norm));
    o << "- Against normalised entropy H/log(t+1) (pooled, descriptive) the median |r| is " << fixed(median(rn), 3)
      << ".\n";
    if (has_within) {
      std::vector<double> rc;
      int64_t same = 0, both = 0;
      for (const auto& h : H) {
        rc.push_back(std::fabs(h.content_r));
        if (std::isfinite(h.content_r) && std::isfinite(h.within_r)) ++both, same += h.content_r * h.within_r > 0;
      }
      o << "- On the content entropy H_c = (H − h_b(p₀))/(1 − p₀), the entropy beyond the attention sink, the median |"
        << stat_name << "| is " << fixed(median(rc), 3) << "; " << same << " of " << both
        << " heads keep the sign they have on H. The decision uses the " << ent_name << ".\n";
    }
  }
  o << "\n";

  // --- Strongest heads with CIs.
  std::vector<const HeadStat*> by_abs;
  for (const auto& h : H)
    if (std::isfinite(pr(h))) by_abs.push_back(&h);
  std::stable_sort(by_abs.begin(), by_abs.end(),
                   [&](const HeadStat* a, const HeadStat* b) { return std::fabs(pr(*a)) > std::fabs(pr(*b)); });
  o << "### Strongest heads\n\n";
  for (size_t i = 0; i < by_abs.size() && i < 5; ++i) {
    const HeadStat& h = *by_abs[i];
    if (has_within) {
      o << "- **" << head_label(h.layer, h.head) << "**: r = " << fixed(h.within_r, 3) << " within documents (95% CI "
        << fixed(h.within_ci_low, 3) << " to " << fixed(h.within_ci_high, 3) << ", τ² = " << fixed(h.within_tau2, 4)
        << ", " << h.within_docs << " documents), adjusted p " << (pvalue(h.p_adjusted)[0] == '<' ? "" : "= ")
        << pvalue(h.p_adjusted) << "; cross-document null 95th percentile of |r| " << fixed(h.cross_p95_abs_r, 3)
        << "; on H_c r = " << fixed(h.content_r, 3) << "; pooled raw r " << fixed(h.r, 3) << ", ρ " << fixed(h.rho, 3)
        << (h.passes ? " — passes." : " — does not pass.") << "\n";
    } else {
      o << "- **" << head_label(h.layer, h.head) << "**: r = " << fixed(h.r, 3) << " (95% CI " << fixed(h.ci_low, 3)
        << " to " << fixed(h.ci_high, 3) << "), ρ = " << fixed(h.rho, 3) << ", partial r = " << fixed(h.partial_r, 3)
        << ", adjusted p " << (pvalue(h.p_adjusted)[0] == '<' ? "" : "= ") << pvalue(h.p_adjusted)
        << ", n = " << thousands(h.n) << "; per-document r " << fixed(h.doc_mean_r, 3) << " ± " << fixed(h.doc_sd_r, 3)
        << ", same sign in " << percent(h.sign_agreement) << " of documents"
        << (h.passes ? " — passes." : " — does not pass.") << "\n";
    }
  }
  o << "\n";

  // --- Nulls.
  {
    o << "### Null controls\n\n";
    if (has_within) {
      std::vector<double> cm, c95;
      int64_t above = 0, comparable = 0;
      for (const auto& h : H) {
        cm.push_back(h.cross_mean_abs_r);
        c95.push_back(h.cross_p95_abs_r);
        if (std::isfinite(h.within_r) && std::isfinite(h.cross_p95_abs_r)) {
          ++comparable;
          above += std::fabs(h.within_r) > h.cross_p95_abs_r;
        }
      }
      o << "- **Cross-document null** (the randomization control of the decision): ‖q‖ of one document paired with "
           "the entropy of another at the same positions keeps every position effect and every document's level and "
           "removes only the token-level link. Its mean |r*| has median "
        << fixed(median(cm), 3) << " over heads and its 95th percentile median " << fixed(median(c95), 3) << "; "
        << above << " of " << comparable << " heads exceed their own 95th percentile.\n";
    }
    std::vector<double> sm, circ;
    for (const auto& h : H) {
      sm.push_back(h.shuffle_mean_abs_r);
      circ.push_back(std::fabs(h.circular_r));
    }
    o << "- Sanity columns on the pooled r (not used by the decision): shuffling the entropy within each document "
         "gives a median mean |r*| of "
      << fixed(median(sm), 3)
      << "; it destroys position alignment along with the link, so it cannot tell a link from shared drift. The "
         "circular shift (median |mean r*| "
      << fixed(median(circ), 3)
      << ") keeps each series' autocorrelation but also misaligns positions; when both series trend with position "
         "the unshifted alignment has the largest r of all shifts, so it does not guard against drift either.\n";
    if (run.summary.contains("split_half") && run.summary["split_half"].is_object()) {
      const auto& sh = run.summary["split_half"];
      const auto sel = sh.value("heads_selected", nlohmann::json(0));
      const auto conf = sh.value("heads_confirmed", nlohmann::json(0));
      const auto rate = sh.value("confirmation_rate", nlohmann::json());
      o << "- **Split halves.** Heads selected on one half of the source files (seeded split) and confirmed on the "
           "other: "
        << conf.dump() << " of " << sel.dump() << " selected heads confirmed"
        << (rate.is_number() ? " (" + percent(rate.get<double>()) + ")" : " (rate undefined: no head selected, or one half has no document)") << ".\n";
    }
    o << "\n";
  }

  // --- Consistency across documents.
  {
    std::vector<double> agree, agree_pass, sd_pass, tau_pass, frac;
    int64_t all_same = 0, n_docs = 0;
    for (const auto& h : H) {
      agree.push_back(h.sign_agreement);
      frac.push_back(h.within_frac_meeting);
      if (h.sign_agreement >= 0.999) ++all_same;
      if (h.passes) {
        agree_pass.push_back(h.sign_agreement);
        sd_pass.push_back(h.doc_sd_r);
        tau_pass.push_back(h.within_tau2);
      }
      n_docs = std::max(n_docs, h.n_docs);
    }
    if (!n_docs) n_docs = digest.n_docs;
    int64_t sources = run.summary.contains("independent_documents") && run.summary["independent_documents"].is_number_integer()
                          ? run.summary["independent_documents"].get<int64_t>()
                          : n_docs;
    o << "### Consistency across documents\n\n";
    o << "- Documents are the unit of inference (" << plural(n_docs, "window", "windows") << " from "
      << plural(sources, "independent source file", "independent source files")
      << "); per-document r are combined by DerSimonian–Laird random effects, so between-document heterogeneity (τ²) "
         "widens the CI. The median head has its pooled raw sign in "
      << percent(median(agree)) << " of documents; " << all_same << " of " << n_heads
      << " heads agree in every document.\n";
    if (has_within)
      o << "- Fraction of documents whose within-document r meets the per-document threshold: median "
        << percent(median(frac)) << " over heads.\n";
    if (!agree_pass.empty())
      o << "- Among passing heads: median sign agreement " << percent(median(agree_pass))
        << ", median between-document sd of the raw r " << fixed(median(sd_pass), 3)
        << (has_within ? ", median τ² " + fixed(median(tau_pass), 4) : "") << ".\n";
    o << "\n";
  }

  // --- Caveats.
  o << "### Caveats\n\n";
  {
    double pq = median(digest.corr_pos_q), ph = median(digest.corr_pos_h);
    o << "- **What the design controls.** Position (per document, both series are residualised on log(t+1) and a "
         "natural cubic spline in position; positions below "
      << run.min_pos
      << " are excluded), differences between documents in level (only within-document covariation counts), "
         "autocorrelation of the residuals (an AR(1) effective n), heterogeneity between documents (random effects), "
         "and the number of heads tested (adjusted p). Before that control, entropy correlates with log(t+1) at a "
         "median r of "
      << fixed(ph, 2) << " per layer and ‖q‖ at " << fixed(pq, 2) << ".\n";
    o << "- **What it does not control.** Token identity and content (a token type may carry both a large ‖q‖ and a "
         "particular attention pattern), position effects not smooth enough for the spline, dependence beyond lag 1 "
         "(the AR(1) effective n can overstate the evidence for long-memory series), the choice of corpus, and the "
         "direction of any effect: this is an observational correlation, not an intervention.\n";
    double smin = INFINITY, smax = -INFINITY;
    int lmin = -1, lmax = -1;
    for (size_t l = 0; l < digest.sink_mean.size(); ++l) {
      const double s = digest.sink_mean[l];
      if (!std::isfinite(s)) continue;
      if (s < smin) smin = s, lmin = static_cast<int>(l);
      if (s > smax) smax = s, lmax = static_cast<int>(l);
    }
    if (lmin >= 0)
      o << "- **Attention sinks.** The mean attention on the first token ranges from " << percent(smin, 1) << " (layer "
        << lmin << ") to " << percent(smax, 1) << " (layer " << lmax
        << "). Where the sink takes most of the mass, H mostly measures how much attention escapes the sink; the "
           "content entropy H_c, reported beside H, removes that part.\n";
    o << "- **Token dependence.** Rows within a document are not independent, so the pooled p-values and CIs in "
         "heads.csv (n = "
      << thousands(H.empty() ? 0 : H.front().n)
      << " rows per head) overstate the evidence and are descriptive only; the decision uses the document-level test.\n";
    o << "- **Few documents.** The random-effects test uses a normal approximation, which is optimistic with few "
         "documents; with fewer than the configured minimum the study is INCONCLUSIVE.\n";
    o << "- **Multiple comparisons.** " << n_heads
      << " heads were tested; the head test uses the adjusted p (Benjamini–Hochberg, Benjamini–Yekutieli for "
         "arbitrary dependence, or Bonferroni, as configured); heads.csv carries all three.\n";
  }
  return o.str();
}

}  // namespace spectra::report
