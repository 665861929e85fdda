// report.md: decision and criteria first, then the interpretation, figures
// (linked PNGs), the strongest heads, the layer table, methods and
// provenance. Also the Markdown sections shared with report.html.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "report/format.hpp"
#include "report/report_sections.hpp"

namespace spectra::report {

namespace {

std::string cell(std::string s) {  // a Markdown table cell
  std::string o;
  for (char c : s) {
    if (c == '|') o += "\\|";
    else if (c == '\n') o += ' ';
    else o += c;
  }
  return o;
}

std::string scalar(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number()) return json_number(v.get<double>(), 6);
  if (v.is_null()) return "—";
  return v.dump();
}

bool flat_object(const nlohmann::json& v) {
  if (!v.is_object()) return false;
  for (const auto& [k, x] : v.items())
    if (x.is_object() || x.is_array()) return false;
  return true;
}

// Provenance JSON as nested bullets; arrays of flat objects become tables.
void json_markdown(std::ostringstream& o, const nlohmann::json& v, int depth) {
  const std::string indent(2 * depth, ' ');
  for (const auto& [key, x] : v.items()) {
    if (x.is_array() && !x.empty() && std::all_of(x.begin(), x.end(), flat_object)) {
      std::vector<std::string> cols;
      for (const auto& row : x)
        for (const auto& [k, _] : row.items())
          if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
      o << indent << "- **" << key << "**:\n\n";
      o << "| " ;
      for (const auto& c : cols) o << cell(c) << " | ";
      o << "\n|";
      for (size_t i = 0; i < cols.size(); ++i) o << " --- |";
      o << "\n";
      for (const auto& row : x) {
        o << "| ";
        for (const auto& c : cols) o << cell(row.contains(c) ? "`" + scalar(row[c]) + "`" : "") << " | ";
        o << "\n";
      }
      o << "\n";
    } else if (x.is_object() || x.is_array()) {
      o << indent << "- **" << key << "**:\n";
      json_markdown(o, x, depth + 1);
    } else {
      o << indent << "- **" << key << "**: " << scalar(x) << "\n";
    }
  }
}

}  // namespace

std::string section_title() { return "# Spectra report: is the query norm ‖q‖ associated with attention entropy?\n\n"; }

std::string section_decision(const RunFolder& run) {
  std::ostringstream o;
  o << "## Decision: **" << run.decision << "**\n\n";
  if (!run.reason.empty()) o << run.reason << ".\n\n";
  o << "| criterion | measured | threshold | verdict |\n| --- | --- | --- | --- |\n";
  for (const auto& c : run.criteria)
    o << "| " << cell(c.name + (c.description.empty() ? "" : " — " + c.description)) << " | " << cell(c.measured)
      << " | " << cell(c.threshold) << " | **" << cell(c.verdict) << "** |\n";
  o << "\n";
  return o.str();
}

std::string section_heads_table(const RunFolder& run, size_t max_rows) {
  bool has_within = false;
  for (const auto& h : run.heads) has_within = has_within || std::isfinite(h.within_r);
  auto key = [&](const HeadStat* h) {
    const double r = has_within ? h->within_r : h->r;
    return std::isfinite(r) ? std::fabs(r) : -1.0;
  };
  std::vector<const HeadStat*> v;
  for (const auto& h : run.heads) v.push_back(&h);
  std::stable_sort(v.begin(), v.end(), [&](const HeadStat* a, const HeadStat* b) { return key(a) > key(b); });
  std::ostringstream o;
  o << "| head | within-doc r | 95% CI | τ² | cross-doc null p95 |r| | p (adjusted) | within-doc r on H_c | pooled r "
       "| partial r | r vs H/log(t+1) | doc r mean ± sd | passes |\n";
  o << "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n";
  for (size_t i = 0; i < v.size() && i < max_rows; ++i) {
    const HeadStat& h = *v[i];
    o << "| " << head_label(h.layer, h.head) << " | " << fixed(h.within_r, 3) << " | " << fixed(h.within_ci_low, 3)
      << " to " << fixed(h.within_ci_high, 3) << " | " << fixed(h.within_tau2, 4) << " | " << fixed(h.cross_p95_abs_r, 3)
      << " | " << pvalue(h.p_adjusted) << " | " << fixed(h.content_r, 3) << " | " << fixed(h.r, 3) << " | "
      << fixed(h.partial_r, 3) << " | " << fixed(h.r_norm, 3) << " | " << fixed(h.doc_mean_r, 3) << " ± "
      << fixed(h.doc_sd_r, 3) << " | " << (h.passes ? "yes" : "no") << " |\n";
  }
  o << "\n";
  return o.str();
}

std::string section_layers(const RunFolder& run) {
  if (!run.layers_csv) return "";
  const CsvTable& t = *run.layers_csv;
  std::ostringstream o;
  o << "|";
  for (const auto& h : t.header()) o << " " << cell(h) << " |";
  o << "\n|";
  for (size_t i = 0; i < t.header().size(); ++i) o << " ---: |";
  o << "\n";
  for (size_t r = 0; r < t.rows(); ++r) {
    o << "|";
    for (size_t c = 0; c < t.header().size(); ++c) {
      std::string s = t.text(r, c);
      char* end = nullptr;
      const double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && *end == '\0' && s.find('.') != std::string::npos) s = json_number(d, 4);
      o << " " << cell(s) << " |";
    }
    o << "\n";
  }
  o << "\n";
  return o.str();
}

std::string section_methods(const RunFolder& run, const TupleDigest& digest) {
  std::ostringstream o;
  const nlohmann::json cfg = run.config_json.is_object() ? run.config_json : nlohmann::json::object();
  auto get = [&](const char* table, const char* key, nlohmann::json dflt) {
    return cfg.contains(table) && cfg[table].contains(key) ? cfg[table][key] : dflt;
  };
  const std::string direction = get("criteria", "direction", "negative").get<std::string>();
  const bool one_sided = get("criteria", "one_sided", true).get<bool>() && direction != "both";
  const std::string adjust = get("criteria", "adjust", "bh").get<std::string>();
  const double confidence = get("analysis", "confidence", 0.95).get<double>();
  const std::string entropy = get("criteria", "entropy", "total").get<std::string>();
  const std::string side = !one_sided ? "two-sided" : direction == "negative" ? "one-sided, H1: r < 0" : "one-sided, H1: r > 0";
  o << "Per (layer, query head), every row (document d, position t ≥ " << run.min_pos
    << ") pairs the query norm ‖q‖₂ (after RoPE) with the entropy H (nats) of the causal attention row; " << "the run has "
    << thousands(static_cast<int64_t>(digest.n_rows)) << " such rows in " << digest.n_layers << " layers × "
    << digest.n_heads << " heads and " << digest.n_docs
    << " documents. **The decision's statistic** (configured direction: " << direction << "; test " << side
    << "; adjustment across heads: " << adjust << "; CI level " << percent(confidence, 1) << "; entropy: "
    << (entropy == "content" ? "content entropy H_c" : "H") << "): "
    << (run.summary.contains("statistic") ? scalar(run.summary["statistic"])
                                          : std::string("the pooled Pearson r (a run written before the within-document statistic)"))
    << ". Its randomization control is the cross-document null; the split-half confirmation is reported. "
       "Descriptive statistics per head (not used by the decision): pooled Pearson r with a t test and Fisher-z CI, "
       "Spearman ρ, the partial correlation controlling log(t+1), r against H/log(t+1), within-document shuffle and "
       "circular-shift nulls on the pooled r, and per-document raw r. Figures are drawn with gnuplot from all rows; "
       "the HTML scatters use a deterministic sample of up to "
    << (digest.samples.empty() ? 0 : std::max_element(digest.samples.begin(), digest.samples.end(),
                                                       [](const auto& a, const auto& b) { return a.size() < b.size(); })
                                         ->size())
    << " rows per head.\n\n";
  // summary.json: the study's description, provenance and timings, then
  // anything else it holds, except the decision block shown above.
  static const char* const kOrder[] = {"study", "model", "precision", "threads", "counts", "data", "provenance",
                                       "timings", "config", "documents", "warnings"};
  static const char* const kShownElsewhere[] = {"decision", "reason", "statistic", "criteria", "passing_heads", "strong_opposite_heads",
                                                "heads", "tests", "heads_passing", "required_heads",
                                                "fraction_passing"};
  auto shown_elsewhere = [](const std::string& k) {
    for (const char* x : kShownElsewhere)
      if (k == x) return true;
    return false;
  };
  o << "### Provenance\n\n";
  if (run.summary.contains("hypothesis")) o << "- **hypothesis**: " << scalar(run.summary["hypothesis"]) << "\n";
  if (run.summary.contains("head_pass_rule"))
    o << "- **head pass rule**: " << scalar(run.summary["head_pass_rule"]) << "\n";
  std::vector<std::string> keys;
  for (const char* k : kOrder)
    if (run.summary.contains(k)) keys.push_back(k);
  for (const auto& [k, _] : run.summary.items())
    if (!shown_elsewhere(k) && k != "hypothesis" && k != "head_pass_rule" &&
        std::find(keys.begin(), keys.end(), k) == keys.end())
      keys.push_back(k);
  for (const auto& k : keys) {
    const auto& v = run.summary[k];
    if (v.is_object() || v.is_array()) {
      if (v.empty()) continue;
      o << "\n#### " << k << "\n\n";
      if (v.is_array()) {
        nlohmann::json wrapped;
        wrapped[k] = v;
        json_markdown(o, wrapped, 0);
      } else {
        json_markdown(o, v, 0);
      }
    } else {
      o << "- **" << k << "**: " << scalar(v) << "\n";
    }
  }
  o << "\n";
  if (!run.config_text.empty()) o << "### Configuration (config.toml)\n\n```toml\n" << run.config_text << (run.config_text.back() == '\n' ? "" : "\n") << "```\n\n";
  return o.str();
}

std::string render_markdown(const ReportContent& c) {
  const RunFolder& run = *c.run;
  std::ostringstream o;
  o << section_title();
  o << section_decision(run);
  o << "## Interpretation\n\n" << interpretation_markdown(run, *c.digest) << "\n";
  if (!c.figures.empty()) {
    o << "## Figures\n\nEach figure is in `figures/` as PNG and SVG.\n\n";
    for (const auto& f : c.figures)
      o << "### " << f.title << "\n\n![" << f.title << "](figures/" << f.name << ".png)\n\n" << f.caption << " ([SVG](figures/"
        << f.name << ".svg))\n\n";
  }
  o << section_mechanism(run);
  o << section_budget(run);
  o << "## Strongest heads\n\nThe 20 heads with the largest |within-document r| (all " << run.heads.size()
    << " heads are in `heads.csv` and in the sortable table of `report.html`).\n\n";
  o << section_heads_table(run, 20);
  if (run.layers_csv) o << "## Layers\n\nFrom `layers.csv`.\n\n" << section_layers(run);
  o << "## Methods and provenance\n\n" << section_methods(run, *c.digest);
  return o.str();
}

}  // namespace spectra::report
