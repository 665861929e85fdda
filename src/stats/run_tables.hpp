#pragma once
// The analysis tables of a run folder, written atomically (AtomicFile).
// Numbers: shortest text that reads back to the same double ("nan", "inf" for
// undefined values); booleans 0/1; text quoted as in RFC 4180 when needed.
// Output depends only on the input and the configuration: the same tuples and
// seed give byte-identical files.
//
// heads.csv: one row per (layer, head), ordered by layer then head:
//   layer, head, kv_head, n, docs,
//   within_r, within_ci_low, within_ci_high, within_z, within_se, within_tau2,
//   within_i2, within_q, within_docs, within_p_two_sided, within_p_less,
//   within_p_greater,                      the PRIMARY statistic on H
//   cross_mean_r, cross_mean_abs_r, cross_q95_abs_r, cross_p_two_sided,
//   cross_p_less,                          its cross-document null
//   content_n, content_r, … content_cross_p_less   the same on H_c (n: rows with H_c)
//   within_doc_r_mean, within_doc_frac_meeting   over the decision entropy's r_d
//   half_a_r, half_a_p_adjusted, half_b_r, half_b_p_adjusted, selected_a,
//   confirmed_b                            split halves (decision.hpp)
//   (the columns below are DESCRIPTIVE: pooled over all rows, or sanity nulls)
//   r, r_p_two_sided, r_p_less, r_p_greater, r_ci_low, r_ci_high,
//   rho, rho_p_two_sided, rho_p_less,
//   r_norm_entropy, r_norm_entropy_p_two_sided, r_norm_entropy_p_less,
//   partial_r, partial_p_two_sided, partial_p_less,
//   shuffle_mean_r, shuffle_mean_abs_r, shuffle_q95_abs_r, shuffle_p_two_sided, shuffle_p_less,
//   circular_mean_r, circular_mean_abs_r, circular_q95_abs_r, circular_p_two_sided, circular_p_less,
//   p_primary, p_bh, p_by, p_bonferroni, p_adjusted, bonferroni_significant,
//   doc_r_mean, doc_r_sd, doc_sign_agreement, doc_frac_meeting,
//   doc_fisher_z_mean, doc_fisher_t, doc_fisher_p_two_sided, doc_fisher_p_less,
//   mean_q_norm, mean_entropy, mean_sink_mass, mean_content_entropy,
//   crit_n, crit_r, crit_p, crit_null, crit_docs, passes, strong_opposite,
//   dropped_nonfinite, note
// (docs = documents that entered the per-document statistics; see
//  head_statistics.hpp, reproducibility.hpp and decision.hpp for definitions.)
//
// layers.csv: one row per layer:
//   layer, heads, mean_r, mean_abs_r, mean_partial_r, mean_abs_partial_r,
//   heads_passing, frac_passing, strong_opposite
// (means over the layer's heads with a defined value)
//
// docs.csv: one row per document, ordered by doc:
//   doc, source, source_file, half, tokens, perplexity, positions, heads,
//   mean_r, mean_abs_r, mean_within_r, mean_abs_within_r,
//   frac_heads_meeting, passing_heads_agreeing
//   source_file: the independent document (source with any "#wN" removed);
//   half: A or B of the split-half confirmation; mean_within_r: over the
//   heads' within-document r_d (decision entropy); frac_heads_meeting and
//   passing_heads_agreeing use that r_d;
//   tokens: from the metadata when given, else largest pos + 1 in the tuples;
//   positions: pairs analysed per head (the largest over heads);
//   heads: heads with a defined r_d in this document; mean_r / mean_abs_r:
//   over those heads; frac_heads_meeting: fraction of ALL heads whose r_d in
//   this document meets the per-document criterion (doc_meets); 
//   passing_heads_agreeing: the same fraction among the passing heads only
//   (nan when no head passes). source and perplexity are empty / nan without
//   metadata.
//
// head_docs.csv: one row per (layer, head, doc), ordered so:
//   layer, head, doc, n, r, within_r, within_n_eff, content_r, content_n_eff
//   within_*: the within-document, position-controlled r_d and n_eff on H;
//   content_*: the same on H_c (NaN: the document did not enter);
//   n: pairs of that head in that document (pos ≥ min_position, finite);
//   r: Pearson r within the document (nan when n < min_doc_positions or
//   undefined). The per-document r behind the reproducibility columns.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "stats/analysis_config.hpp"
#include "stats/head_statistics.hpp"

namespace spectra::stats {

// Optional per-document metadata from the study (indexed by doc id).
struct DocMeta {
  std::string source;
  int64_t tokens = -1;  // < 0: unknown
  double perplexity = std::numeric_limits<double>::quiet_NaN();
};

std::string heads_csv(const std::vector<HeadStats>& heads);
std::string layers_csv(const std::vector<HeadStats>& heads);
std::string head_docs_csv(const std::vector<HeadStats>& heads, const std::vector<int32_t>& docs);
std::string docs_csv(const std::vector<HeadStats>& heads, const std::vector<int32_t>& docs,
                     const std::vector<int64_t>& doc_tokens, const AnalysisConfig& cfg,
                     const std::vector<DocMeta>* meta, const std::vector<std::string>& source_file = {},
                     const std::vector<uint8_t>& half = {});

// Reads source/tokens/perplexity back from an existing docs.csv (so that
// `spectra analyze` keeps the study's metadata when it rewrites the tables).
// Returns an empty vector when the file does not exist.
std::vector<DocMeta> read_doc_meta(const std::string& docs_csv_path);

// Text helpers shared by the tables.
std::string format_number(double v);

// One CSV line of the run tables: cells in order, text quoted when needed.
class CsvRow {
 public:
  CsvRow& num(double v) { return cell(format_number(v)); }
  CsvRow& integer(int64_t v) { return cell(std::to_string(v)); }
  CsvRow& flag(bool b) { return cell(b ? "1" : "0"); }
  CsvRow& text(const std::string& s);
  std::string line() const { return s_ + "\n"; }

 private:
  CsvRow& cell(const std::string& c) {
    if (!first_) s_ += ',';
    s_ += c;
    first_ = false;
    return *this;
  }
  std::string s_;
  bool first_ = true;
};

}  // namespace spectra::stats
