#pragma once
// The statistics tables of a finished study run, as the report needs them.
// The column names of heads.csv / docs.csv are those written by src/stats
// (run tables); they are listed once, in run_folder_reader.cpp.
#include <cmath>
#include <cstdint>
#include <map>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/csv_table.hpp"

namespace spectra::report {

// One (layer, head) with its pooled statistics (NaN where not computed).
struct HeadStat {
  int layer = 0, head = 0;
  int64_t n = 0;
  double r = 0, p = 0, rho = 0, rho_p = 0;
  double ci_low = 0, ci_high = 0;      // Fisher-z 95% CI of r
  double partial_r = 0, partial_p = 0; // controlling log(t+1)
  double r_norm = 0;                   // r against H / log(t+1)
  double shuffle_mean_abs_r = 0, shuffle_p95_abs_r = 0;
  double circular_r = 0, circular_p95_abs_r = 0;  // mean r and 95th pct |r| of the circular-shift null
  double p_bh = 0, p_by = 0, p_adjusted = 0;      // adjusted across all heads (p_adjusted: the one that counts)
  double doc_mean_r = 0, doc_sd_r = 0, sign_agreement = 0, doc_frac_meeting = 0;
  double mean_sink_mass = 0;
  int64_t n_docs = 0;                  // documents in the per-document statistics
  // The primary (decision) statistic on H: within-document, position-
  // controlled r combined across documents (NaN when heads.csv lacks it).
  double within_r = NAN, within_ci_low = NAN, within_ci_high = NAN, within_tau2 = NAN, within_i2 = NAN;
  double cross_mean_abs_r = NAN, cross_p95_abs_r = NAN;  // its cross-document null
  double within_frac_meeting = NAN;
  int64_t within_docs = 0;
  double content_r = NAN, content_ci_low = NAN, content_ci_high = NAN;  // the same on H_c
  bool selected_a = false, confirmed_b = false;
  bool passes = false, strong_opposite = false;
};

// r of one head in one document.
struct DocHeadR {
  int doc = 0, layer = 0, head = 0;
  int64_t n = 0;
  double r = 0;
};

// One head of mechanism.csv (issue #14, src/stats/mechanism.hpp).
struct MechanismHead {
  int layer = 0, head = 0;
  int64_t n = 0, docs = 0, slope_n = 0;
  double r = NAN, r_fix = NAN, fraction = NAN, var_ratio = NAN, norm_dominant = NAN;
  std::string fraction_note;
  double neg_var_median = NAN, slope = NAN, slope_ci_low = NAN, slope_ci_high = NAN, slope_ratio = NAN;
  bool slope_agrees = false;
};

// One head of budget.csv (issue #14, src/stats/budget.hpp).
struct BudgetHead {
  static constexpr int kPolicies = 5;  // fixed, position, qnorm, qnorm_position, prev_k
  int layer = 0, head = 0;
  int64_t n_eval = 0, docs_eval = 0;
  double mean_budget = NAN;
  double coverage[kPolicies] = {NAN, NAN, NAN, NAN, NAN};
  std::string note;
  bool defined() const { return n_eval > 0 && std::isfinite(coverage[0]); }
};

struct Criterion {
  std::string name, measured, threshold, verdict, description;
  int64_t heads_meeting = -1;
};

struct RunFolder {
  std::string dir;
  std::vector<HeadStat> heads;          // sorted by (layer, head)
  int n_layers = 0, n_heads = 0;        // grid size (max index + 1)
  std::vector<DocHeadR> doc_r;          // from head_docs.csv if present, else filled from the tuples
  std::optional<CsvTable> layers_csv;   // shown as a table
  std::optional<CsvTable> docs_csv;
  nlohmann::json summary;               // summary.json as written
  std::string decision;                 // "GO" / "NO-GO" / "INCONCLUSIVE"
  std::string reason;                   // why (may be empty for older runs)
  std::vector<Criterion> criteria;
  std::string config_text;              // config.toml verbatim
  nlohmann::json config_json;           // summary.json "config" (analysis + criteria), may be null
  int min_pos = 0;                      // positions below this were excluded by the statistics
  int min_doc_positions = 10;           // a document enters a head's per-document r with this many rows
  // Issue #14 tables; absent (has_* false) in a run analysed before #14.
  bool has_mechanism = false, has_budget = false;
  std::vector<MechanismHead> mechanism;  // sorted by (layer, head)
  std::vector<BudgetHead> budget;        // sorted by (layer, head)
  // The mass P of k_budget (config.toml's budget_mass, or summary.json's
  // budget.mass for a `spectra measure` folder); NaN when not recorded.
  double budget_mass = std::numeric_limits<double>::quiet_NaN();

  const HeadStat* find(int layer, int head) const;
};

// Reads the tables of RUN_DIR. Throws spectra::Error naming the file and the
// column or key at fault.
RunFolder read_run_folder(const std::string& run_dir);

}  // namespace spectra::report
