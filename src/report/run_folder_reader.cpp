// Reads a study run folder's tables (heads.csv, layers.csv, docs.csv,
// summary.json, config.toml) into RunFolder. Column names are listed here,
// once; a missing column is an error naming the file and the column.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "report/run_folder.hpp"

#include "stats/analysis_config.hpp"
#include "util/error.hpp"

namespace spectra::report {

namespace fs = std::filesystem;

namespace {

// heads.csv columns, as written by src/stats/run_tables.cpp.
struct HeadColumns {
  static constexpr const char* layer = "layer";
  static constexpr const char* head = "head";
  static constexpr const char* n = "n";
  static constexpr const char* r = "r";
  static constexpr const char* p = "p_primary";
  static constexpr const char* rho = "rho";
  static constexpr const char* rho_p = "rho_p_two_sided";
  static constexpr const char* ci_low = "r_ci_low";
  static constexpr const char* ci_high = "r_ci_high";
  static constexpr const char* partial_r = "partial_r";
  static constexpr const char* partial_p = "partial_p_two_sided";
  static constexpr const char* r_norm = "r_norm_entropy";
  static constexpr const char* shuffle_mean = "shuffle_mean_abs_r";
  static constexpr const char* shuffle_p95 = "shuffle_q95_abs_r";
  static constexpr const char* circular = "circular_mean_r";
  static constexpr const char* circular_p95 = "circular_q95_abs_r";
  static constexpr const char* p_bh = "p_bh";
  static constexpr const char* p_by = "p_by";
  static constexpr const char* p_adjusted = "p_adjusted";
  static constexpr const char* doc_mean = "doc_r_mean";
  static constexpr const char* doc_sd = "doc_r_sd";
  static constexpr const char* sign = "doc_sign_agreement";
  static constexpr const char* frac_meeting = "doc_frac_meeting";
  static constexpr const char* n_docs = "docs";
  static constexpr const char* passes = "passes";
  static constexpr const char* strong_opposite = "strong_opposite";
  static constexpr const char* sink = "mean_sink_mass";
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_file(path, "cannot open (is this a finished study run folder?)");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string json_scalar_text(const nlohmann::json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4g", v.get<double>());
    return buf;
  }
  return v.dump();
}

Criterion criterion_from(const std::string& path, const std::string& name, const nlohmann::json& c) {
  Criterion k;
  k.name = name;
  if (!c.is_object()) fail_field(path, "criteria." + name, "expected an object");
  auto get = [&](std::initializer_list<const char*> keys) -> std::string {
    for (auto key : keys)
      if (c.contains(key)) return json_scalar_text(c[key]);
    return "";
  };
  if (k.name.empty()) k.name = get({"name", "id"});
  k.measured = get({"measured", "value"});
  k.threshold = get({"threshold", "required"});
  k.verdict = get({"verdict", "pass", "passed"});
  if (k.verdict == "true") k.verdict = "PASS";
  if (k.verdict == "false") k.verdict = "FAIL";
  k.description = get({"rule", "description"});
  if (c.contains("heads_meeting") && c["heads_meeting"].is_number_integer()) k.heads_meeting = c["heads_meeting"].get<int64_t>();
  if (k.verdict == "pass") k.verdict = "PASS";
  if (k.verdict == "fail") k.verdict = "FAIL";
  if (k.name.empty()) fail_field(path, "criteria", "a criterion has no name");
  return k;
}

}  // namespace

const HeadStat* RunFolder::find(int layer, int head) const {
  for (const auto& h : heads)
    if (h.layer == layer && h.head == head) return &h;
  return nullptr;
}

RunFolder read_run_folder(const std::string& run_dir) {
  RunFolder run;
  run.dir = run_dir;
  if (!fs::is_directory(run_dir)) fail_file(run_dir, "not a directory (expected a study run folder)");

  // heads.csv
  {
    const CsvTable t = CsvTable::read((fs::path(run_dir) / "heads.csv").string());
    using C = HeadColumns;
    const size_t c_layer = t.column(C::layer), c_head = t.column(C::head), c_n = t.column(C::n), c_r = t.column(C::r),
                 c_p = t.column(C::p), c_rho = t.column(C::rho), c_rho_p = t.column(C::rho_p),
                 c_lo = t.column(C::ci_low), c_hi = t.column(C::ci_high), c_pr = t.column(C::partial_r),
                 c_pp = t.column(C::partial_p), c_rn = t.column(C::r_norm), c_sm = t.column(C::shuffle_mean),
                 c_s95 = t.column(C::shuffle_p95), c_circ = t.column(C::circular), c_bh = t.column(C::p_bh),
                 c_by = t.column(C::p_by), c_dm = t.column(C::doc_mean), c_ds = t.column(C::doc_sd),
                 c_sign = t.column(C::sign), c_pass = t.column(C::passes), c_c95 = t.column(C::circular_p95),
                 c_padj = t.column(C::p_adjusted), c_frac = t.column(C::frac_meeting), c_nd = t.column(C::n_docs);
    const auto c_opp = t.find(C::strong_opposite);
    const auto c_sink = t.find(C::sink);
    for (size_t i = 0; i < t.rows(); ++i) {
      HeadStat h;
      h.layer = static_cast<int>(t.integer(i, c_layer));
      h.head = static_cast<int>(t.integer(i, c_head));
      if (h.layer < 0 || h.head < 0 || h.layer > 4096 || h.head > 4096)
        fail_file(t.path(), "line " + std::to_string(i + 2) + ": layer/head index out of range");
      h.n = t.integer(i, c_n);
      h.r = t.number(i, c_r);
      h.p = t.number(i, c_p);
      h.rho = t.number(i, c_rho);
      h.rho_p = t.number(i, c_rho_p);
      h.ci_low = t.number(i, c_lo);
      h.ci_high = t.number(i, c_hi);
      h.partial_r = t.number(i, c_pr);
      h.partial_p = t.number(i, c_pp);
      h.r_norm = t.number(i, c_rn);
      h.shuffle_mean_abs_r = t.number(i, c_sm);
      h.shuffle_p95_abs_r = t.number(i, c_s95);
      h.circular_r = t.number(i, c_circ);
      h.p_bh = t.number(i, c_bh);
      h.p_by = t.number(i, c_by);
      h.doc_mean_r = t.number(i, c_dm);
      h.doc_sd_r = t.number(i, c_ds);
      h.sign_agreement = t.number(i, c_sign);
      h.n_docs = t.integer(i, c_nd);
      h.circular_p95_abs_r = t.number(i, c_c95);
      h.p_adjusted = t.number(i, c_padj);
      h.doc_frac_meeting = t.number(i, c_frac);
      h.strong_opposite = c_opp ? t.boolean(i, *c_opp) : false;
      auto opt_num = [&](const char* name, double& out) {
        if (auto c = t.find(name)) out = t.number(i, *c);
      };
      opt_num("within_r", h.within_r);
      opt_num("within_ci_low", h.within_ci_low);
      opt_num("within_ci_high", h.within_ci_high);
      opt_num("within_tau2", h.within_tau2);
      opt_num("within_i2", h.within_i2);
      opt_num("cross_mean_abs_r", h.cross_mean_abs_r);
      opt_num("cross_q95_abs_r", h.cross_p95_abs_r);
      opt_num("within_doc_frac_meeting", h.within_frac_meeting);
      opt_num("content_r", h.content_r);
      opt_num("content_ci_low", h.content_ci_low);
      opt_num("content_ci_high", h.content_ci_high);
      if (auto c = t.find("within_docs")) h.within_docs = t.integer(i, *c);
      if (auto c = t.find("selected_a")) h.selected_a = t.boolean(i, *c);
      if (auto c = t.find("confirmed_b")) h.confirmed_b = t.boolean(i, *c);
      h.mean_sink_mass = c_sink ? t.number(i, *c_sink) : NAN;
      h.passes = t.boolean(i, c_pass);
      run.heads.push_back(h);
    }
    if (run.heads.empty()) fail_file(t.path(), "no heads (the file has a header but no rows)");
    std::sort(run.heads.begin(), run.heads.end(),
              [](const HeadStat& a, const HeadStat& b) { return std::tie(a.layer, a.head) < std::tie(b.layer, b.head); });
    for (size_t i = 1; i < run.heads.size(); ++i)
      if (run.heads[i].layer == run.heads[i - 1].layer && run.heads[i].head == run.heads[i - 1].head)
        fail_file(t.path(), "layer " + std::to_string(run.heads[i].layer) + " head " +
                                std::to_string(run.heads[i].head) + " appears twice");
    for (const auto& h : run.heads) {
      run.n_layers = std::max(run.n_layers, h.layer + 1);
      run.n_heads = std::max(run.n_heads, h.head + 1);
    }
  }

  // layers.csv: shown as it is.
  if (auto p = fs::path(run_dir) / "layers.csv"; fs::exists(p)) run.layers_csv = CsvTable::read(p.string());

  // docs.csv: one row per document, shown as it is.
  if (auto p = fs::path(run_dir) / "docs.csv"; fs::exists(p)) run.docs_csv = CsvTable::read(p.string());

  // Per-document r of each head, when the statistics wrote it (else the
  // report computes it from the tuples).
  if (auto p = fs::path(run_dir) / "head_docs.csv"; fs::exists(p)) {
    CsvTable t = CsvTable::read(p.string());
    {
      const size_t c_doc = t.column("doc"), c_l = t.column("layer"), c_h = t.column("head"), c_r = t.column("r");
      const auto c_n = t.find("n");
      for (size_t i = 0; i < t.rows(); ++i) {
        DocHeadR d;
        d.doc = static_cast<int>(t.integer(i, c_doc));
        d.layer = static_cast<int>(t.integer(i, c_l));
        d.head = static_cast<int>(t.integer(i, c_h));
        d.n = c_n ? t.integer(i, *c_n) : 0;
        d.r = t.number(i, c_r);
        if (std::isfinite(d.r)) run.doc_r.push_back(d);  // nan: too few positions in that document
      }
    }
  }

  // summary.json
  {
    // summary.json (a finished study); a folder `spectra analyze` wrote
    // without a study has decision.json, the same decision block.
    std::string path = (fs::path(run_dir) / "summary.json").string();
    if (!fs::exists(path) && fs::exists(fs::path(run_dir) / "decision.json"))
      path = (fs::path(run_dir) / "decision.json").string();
    try {
      run.summary = nlohmann::json::parse(read_text(path));
    } catch (const nlohmann::json::exception& e) {
      fail_file(path, std::string("invalid JSON: ") + e.what());
    }
    if (!run.summary.is_object()) fail_file(path, "expected a JSON object");
    if (!run.summary.contains("decision")) fail_field(path, "decision", "missing key");
    const auto& d = run.summary["decision"];
    run.decision = d.is_string() ? d.get<std::string>() : json_scalar_text(d.value("verdict", nlohmann::json()));
    if (run.decision != "GO" && run.decision != "NO-GO" && run.decision != "INCONCLUSIVE")
      fail_field(path, "decision", "expected \"GO\", \"NO-GO\" or \"INCONCLUSIVE\", not \"" + run.decision + "\"");
    if (run.summary.contains("reason") && run.summary["reason"].is_string()) run.reason = run.summary["reason"].get<std::string>();
    if (!run.summary.contains("criteria")) fail_field(path, "criteria", "missing key");
    const auto& cs = run.summary["criteria"];
    if (cs.is_array()) {
      for (const auto& c : cs) run.criteria.push_back(criterion_from(path, "", c));
    } else if (cs.is_object()) {
      for (auto it = cs.begin(); it != cs.end(); ++it) run.criteria.push_back(criterion_from(path, it.key(), it.value()));
    } else {
      fail_field(path, "criteria", "expected an array or an object");
    }
    if (run.summary.contains("heads") && run.summary["heads"].is_number_integer()) {
      const int64_t total = run.summary["heads"].get<int64_t>();
      const int64_t required = run.summary.contains("required_heads") && run.summary["required_heads"].is_number_integer()
                                   ? run.summary["required_heads"].get<int64_t>()
                                   : -1;
      for (auto& c : run.criteria) {
        if (c.heads_meeting < 0 || total <= 0) continue;
        char pct[32];
        std::snprintf(pct, sizeof pct, "%.1f%%", 100.0 * double(c.heads_meeting) / double(total));
        c.measured = std::to_string(c.heads_meeting) + " of " + std::to_string(total) + " heads (" + pct + ")";
        if (required >= 0) c.threshold += "; needs ≥ " + std::to_string(required) + " heads";
      }
    }
    // Positions below min_position were excluded by the statistics.
    const nlohmann::json* cfg = nullptr;
    if (run.summary.contains("config") && run.summary["config"].is_object()) cfg = &run.summary["config"];
    stats::AnalysisConfig acfg;
    if (auto p = fs::path(run_dir) / "config.toml"; fs::exists(p)) acfg = stats::AnalysisConfig::from_toml_file(p.string());
    run.min_pos = acfg.min_position;
    run.min_doc_positions = acfg.min_doc_positions;
    if (cfg && cfg->contains("analysis") && (*cfg)["analysis"].is_object()) {
      const auto& a = (*cfg)["analysis"];
      if (a.contains("min_position")) run.min_pos = a["min_position"].get<int>();
      if (a.contains("min_doc_positions")) run.min_doc_positions = a["min_doc_positions"].get<int>();
    }
    run.config_json = cfg ? *cfg : nlohmann::json();
  }

  // Issue #14 tables (written by `spectra analyze` since #14; optional).
  if (auto p = fs::path(run_dir) / "mechanism.csv"; fs::exists(p)) {
    const CsvTable t = CsvTable::read(p.string());
    run.has_mechanism = true;
    const size_t c_l = t.column("layer"), c_h = t.column("head"), c_n = t.column("n"), c_d = t.column("docs"),
                 c_r = t.column("r"), c_rf = t.column("r_fix"), c_f = t.column("fraction_norm"),
                 c_fn = t.column("fraction_note"), c_v = t.column("var_ratio_norm"), c_sn = t.column("slope_n"),
                 c_nv = t.column("neg_var_median"), c_s = t.column("slope"), c_slo = t.column("slope_ci_low"),
                 c_shi = t.column("slope_ci_high"), c_sr = t.column("slope_ratio"), c_sa = t.column("slope_agrees");
    for (size_t i = 0; i < t.rows(); ++i) {
      MechanismHead m;
      m.layer = static_cast<int>(t.integer(i, c_l));
      m.head = static_cast<int>(t.integer(i, c_h));
      m.n = t.integer(i, c_n);
      m.docs = t.integer(i, c_d);
      m.r = t.number(i, c_r);
      m.r_fix = t.number(i, c_rf);
      m.fraction = t.number(i, c_f);
      m.fraction_note = t.text(i, c_fn);
      if (auto c = t.find("norm_dominant")) m.norm_dominant = t.number(i, *c);
      m.var_ratio = t.number(i, c_v);
      m.slope_n = t.integer(i, c_sn);
      m.neg_var_median = t.number(i, c_nv);
      m.slope = t.number(i, c_s);
      m.slope_ci_low = t.number(i, c_slo);
      m.slope_ci_high = t.number(i, c_shi);
      m.slope_ratio = t.number(i, c_sr);
      m.slope_agrees = t.boolean(i, c_sa);
      run.mechanism.push_back(m);
    }
    std::sort(run.mechanism.begin(), run.mechanism.end(), [](const MechanismHead& a, const MechanismHead& b) {
      return std::tie(a.layer, a.head) < std::tie(b.layer, b.head);
    });
  }
  if (auto p = fs::path(run_dir) / "budget.csv"; fs::exists(p)) {
    const CsvTable t = CsvTable::read(p.string());
    run.has_budget = true;
    static const char* const kCov[BudgetHead::kPolicies] = {"coverage_fixed", "coverage_position", "coverage_qnorm",
                                                            "coverage_qnorm_position", "coverage_prev_k"};
    size_t c_cov[BudgetHead::kPolicies];
    for (int k = 0; k < BudgetHead::kPolicies; ++k) c_cov[k] = t.column(kCov[k]);
    const size_t c_l = t.column("layer"), c_h = t.column("head"), c_n = t.column("n_eval"),
                 c_d = t.column("docs_eval"), c_m = t.column("mean_budget"), c_note = t.column("note");
    for (size_t i = 0; i < t.rows(); ++i) {
      BudgetHead b;
      b.layer = static_cast<int>(t.integer(i, c_l));
      b.head = static_cast<int>(t.integer(i, c_h));
      b.n_eval = t.integer(i, c_n);
      b.docs_eval = t.integer(i, c_d);
      b.mean_budget = t.number(i, c_m);
      for (int k = 0; k < BudgetHead::kPolicies; ++k) b.coverage[k] = t.number(i, c_cov[k]);
      b.note = t.text(i, c_note);
      run.budget.push_back(b);
    }
    std::sort(run.budget.begin(), run.budget.end(), [](const BudgetHead& a, const BudgetHead& b) {
      return std::tie(a.layer, a.head) < std::tie(b.layer, b.head);
    });
  }

  // config.toml verbatim (optional: a run written by `analyze` may lack it).
  if (auto p = fs::path(run_dir) / "config.toml"; fs::exists(p)) run.config_text = read_text(p.string());
  // k_budget's mass P: config.toml (a study) or summary.json (spectra measure).
  if (!run.config_text.empty()) {
    try {
      const toml::table t = toml::parse(run.config_text);
      if (auto v = t["budget_mass"].value<double>()) run.budget_mass = *v;
    } catch (const toml::parse_error&) {
      // config.toml is shown verbatim; an unparsable one only leaves P unknown.
    }
  }
  if (!std::isfinite(run.budget_mass) && run.summary.is_object() && run.summary.contains("budget") &&
      run.summary["budget"].is_object() && run.summary["budget"].contains("mass") &&
      run.summary["budget"]["mass"].is_number())
    run.budget_mass = run.summary["budget"]["mass"].get<double>();
  return run;
}

}  // namespace spectra::report
