#pragma once
// The analysis settings and success criteria, with their defaults. Read from
// the [analysis] and [criteria] tables of a run's config.toml (missing keys
// keep their defaults; unknown keys are an error naming the key).
//
// [analysis]
//   min_position       = 16     positions t < min_position are excluded from
//                               every statistic. Why: at t = 0 the entropy is
//                               identically 0 (one key) and the bound log(t+1)
//                               rises fastest at small t, so early positions
//                               correlate with anything that drifts with
//                               position; position 0 is also the attention
//                               sink itself. 16 drops < 0.4% of a 4096-token
//                               document. (Position effects beyond that are
//                               handled by the normalized-entropy and partial
//                               correlation controls.)
//   permutations       = 100    K for the cross-document null (derangements) and
//                               for the two sanity nulls on the pooled r
//   seed               = 20240601  permutation seed (per head: seed, layer, head)
//   confidence         = 0.95   Fisher-z CI level
//   min_doc_positions  = 10     a document enters the per-document statistics
//                               of a head only with at least this many positions
//                               (at least spline_knots + 4: the basis has
//                               spline_knots + 1 columns)
//   threads            = 0      OpenMP threads (0: the OpenMP default)
//   spline_knots       = 5      knots (≥ 4) of the natural cubic spline in
//                               position that, with 1 and log(t+1), forms the
//                               position basis of the primary statistic
//                               (position_residuals.hpp, within_document.hpp)
// [criteria]
//   entropy            = "total"  the entropy the decision uses: "total" (H, as
//                               measured) or "content" (H_c = (H − h_b(p₀))/(1 − p₀),
//                               the entropy of the attention beyond the sink);
//                               both are always reported
//   min_documents      = 5      GO/NO-GO needs at least this many independent
//                               documents (distinct source files; windows of
//                               one file are one document); fewer: INCONCLUSIVE
//   direction          = "negative"  H1's sign: "negative", "positive" or "both"
//   one_sided          = true   test in H1's direction (p 'less' for negative);
//                               ignored for direction "both"
//   adjust             = "bh"   multiple-comparison method for the head test:
//                               "bh", "by" or "bonferroni"
//   r_threshold        = 0.5    |pooled within-document r| a head needs
//   alpha              = 0.01   on the adjusted p
//   meaningful_fraction = 0.05  GO needs at least ceil(fraction · heads) heads passing
//   null_abs_r_ceiling = 0.05   mean |r*| of the cross-document null must not exceed this
//   require_null_percentile = true   |pooled within-document r| must exceed the
//                               95th percentile of |r*| of the cross-document null
//   doc_r_threshold    = 0.5    per-document |r_d| (within-document, position-
//                               controlled) a document needs to "agree"
//   doc_agree_fraction = 0.8    fraction of a head's documents that must agree
//   min_n              = 30     a head with fewer pooled pairs cannot pass
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace spectra::stats {

enum class Direction { Negative, Positive, Both };
enum class Adjust { BH, BY, Bonferroni };
enum class EntropyKind { Total, Content };

struct AnalysisConfig {
  // [analysis]
  int32_t min_position = 16;
  int permutations = 100;
  uint64_t seed = 20240601;
  double confidence = 0.95;
  int min_doc_positions = 10;
  int threads = 0;
  int spline_knots = 5;
  // [criteria]
  EntropyKind entropy = EntropyKind::Total;
  int min_documents = 5;
  Direction direction = Direction::Negative;
  bool one_sided = true;
  Adjust adjust = Adjust::BH;
  double r_threshold = 0.5;
  double alpha = 0.01;
  double meaningful_fraction = 0.05;
  double null_abs_r_ceiling = 0.05;
  bool require_null_percentile = true;
  double doc_r_threshold = 0.5;
  double doc_agree_fraction = 0.8;
  int64_t min_n = 30;

  // Reads [analysis] and [criteria] from a TOML file; absent tables keep the
  // defaults. Throws spectra::Error naming the file and the key.
  static AnalysisConfig from_toml_file(const std::string& path);
  // Same, from TOML text (file name used in messages).
  static AnalysisConfig from_toml_text(const std::string& text, const std::string& name);
  void validate(const std::string& source) const;
  // {"analysis": {...}, "criteria": {...}} with the same keys as the TOML.
  nlohmann::ordered_json to_json() const;
};

const char* to_string(Direction d);
const char* to_string(Adjust a);
const char* to_string(EntropyKind e);

}  // namespace spectra::stats
