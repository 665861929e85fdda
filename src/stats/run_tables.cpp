// heads.csv, layers.csv and docs.csv; see run_tables.hpp for the columns.
#include "stats/run_tables.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "stats/reproducibility.hpp"
#include "util/error.hpp"

namespace spectra::stats {

CsvRow& CsvRow::text(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return cell(s);
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return cell(q + "\"");
}

std::string format_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

namespace {

using Row = CsvRow;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

std::string heads_csv(const std::vector<HeadStats>& heads) {
  std::string out =
      "layer,head,kv_head,n,docs,"
      "within_r,within_ci_low,within_ci_high,within_z,within_se,within_tau2,within_i2,within_q,within_docs,"
      "within_p_two_sided,within_p_less,within_p_greater,"
      "cross_mean_r,cross_mean_abs_r,cross_q95_abs_r,cross_p_two_sided,cross_p_less,"
      "content_n,content_r,content_ci_low,content_ci_high,content_z,content_se,content_tau2,content_i2,content_q,content_docs,"
      "content_p_two_sided,content_p_less,content_p_greater,"
      "content_cross_mean_r,content_cross_mean_abs_r,content_cross_q95_abs_r,content_cross_p_two_sided,content_cross_p_less,"
      "within_doc_r_mean,within_doc_frac_meeting,"
      "half_a_r,half_a_p_adjusted,half_b_r,half_b_p_adjusted,selected_a,confirmed_b,"
      "r,r_p_two_sided,r_p_less,r_p_greater,r_ci_low,r_ci_high,"
      "rho,rho_p_two_sided,rho_p_less,"
      "r_norm_entropy,r_norm_entropy_p_two_sided,r_norm_entropy_p_less,"
      "partial_r,partial_p_two_sided,partial_p_less,"
      "shuffle_mean_r,shuffle_mean_abs_r,shuffle_q95_abs_r,shuffle_p_two_sided,shuffle_p_less,"
      "circular_mean_r,circular_mean_abs_r,circular_q95_abs_r,circular_p_two_sided,circular_p_less,"
      "p_primary,p_bh,p_by,p_bonferroni,p_adjusted,bonferroni_significant,"
      "doc_r_mean,doc_r_sd,doc_sign_agreement,doc_frac_meeting,"
      "doc_fisher_z_mean,doc_fisher_t,doc_fisher_p_two_sided,doc_fisher_p_less,"
      "mean_q_norm,mean_entropy,mean_sink_mass,mean_content_entropy,"
      "crit_n,crit_r,crit_p,crit_null,crit_docs,passes,strong_opposite,"
      "dropped_nonfinite,note\n";
  for (const auto& h : heads) {
    Row r;
    r.integer(h.id.layer).integer(h.id.head).integer(h.id.kv_head).integer(static_cast<int64_t>(h.n));
    r.integer(static_cast<int64_t>(h.rep.docs));
    for (const WithinDocStats* w : {&h.within, &h.within_content}) {
      if (w == &h.within_content) r.integer(static_cast<int64_t>(h.n_content));
      const MetaResult& m = w->meta;
      r.num(m.r).num(m.ci_low).num(m.ci_high).num(m.z).num(m.se).num(m.tau2).num(m.i2).num(m.q);
      r.integer(static_cast<int64_t>(w->docs)).num(m.p.two_sided).num(m.p.less).num(m.p.greater);
      const NullSummary& c = w->cross;
      r.num(c.mean_r).num(c.mean_abs_r).num(c.q95_abs_r).num(c.p_two).num(c.p_less);
    }
    r.num(h.rep_within.doc_r_mean).num(h.rep_within.frac_meeting);
    r.num(h.primary_half_a_r).num(h.half_a_p_adjusted).num(h.primary_half_b_r).num(h.half_b_p_adjusted);
    r.flag(h.selected_a).flag(h.confirmed_b);
    r.num(h.pearson.r).num(h.pearson.p.two_sided).num(h.pearson.p.less).num(h.pearson.p.greater);
    r.num(h.pearson.ci_low).num(h.pearson.ci_high);
    r.num(h.spearman.r).num(h.spearman.p.two_sided).num(h.spearman.p.less);
    r.num(h.normalized.r).num(h.normalized.p.two_sided).num(h.normalized.p.less);
    r.num(h.partial.r).num(h.partial.p.two_sided).num(h.partial.p.less);
    for (const NullSummary* s : {&h.shuffle, &h.circular})
      r.num(s->mean_r).num(s->mean_abs_r).num(s->q95_abs_r).num(s->p_two).num(s->p_less);
    r.num(h.p_primary).num(h.p_bh).num(h.p_by).num(h.p_bonferroni).num(h.p_adjusted).flag(h.bonferroni_significant);
    r.num(h.rep.doc_r_mean).num(h.rep.doc_r_sd).num(h.rep.sign_agreement).num(h.rep.frac_meeting);
    r.num(h.rep.fisher_z_mean).num(h.rep.fisher_t).num(h.rep.fisher_p.two_sided).num(h.rep.fisher_p.less);
    r.num(h.mean_q_norm).num(h.mean_entropy).num(h.mean_sink_mass).num(h.mean_content_entropy);
    r.flag(h.crit_n).flag(h.crit_r).flag(h.crit_p).flag(h.crit_null).flag(h.crit_docs).flag(h.passes);
    r.flag(h.strong_opposite).integer(static_cast<int64_t>(h.dropped_nonfinite)).text(h.note);
    out += r.line();
  }
  return out;
}

std::string layers_csv(const std::vector<HeadStats>& heads) {
  struct Acc {
    int64_t heads = 0, passing = 0, opposite = 0;
    long double r = 0, abs_r = 0, pr = 0, abs_pr = 0;
    int64_t nr = 0, npr = 0;
  };
  std::map<int32_t, Acc> layers;
  for (const auto& h : heads) {
    Acc& a = layers[h.id.layer];
    ++a.heads;
    a.passing += h.passes;
    a.opposite += h.strong_opposite;
    if (!std::isnan(h.pearson.r)) a.r += h.pearson.r, a.abs_r += std::fabs(h.pearson.r), ++a.nr;
    if (!std::isnan(h.partial.r)) a.pr += h.partial.r, a.abs_pr += std::fabs(h.partial.r), ++a.npr;
  }
  std::string out =
      "layer,heads,mean_r,mean_abs_r,mean_partial_r,mean_abs_partial_r,heads_passing,frac_passing,strong_opposite\n";
  for (auto& [layer, a] : layers) {
    Row r;
    r.integer(layer).integer(a.heads);
    r.num(a.nr ? static_cast<double>(a.r / a.nr) : kNaN).num(a.nr ? static_cast<double>(a.abs_r / a.nr) : kNaN);
    r.num(a.npr ? static_cast<double>(a.pr / a.npr) : kNaN).num(a.npr ? static_cast<double>(a.abs_pr / a.npr) : kNaN);
    r.integer(a.passing).num(static_cast<double>(a.passing) / static_cast<double>(a.heads)).integer(a.opposite);
    out += r.line();
  }
  return out;
}

std::string head_docs_csv(const std::vector<HeadStats>& heads, const std::vector<int32_t>& docs) {
  std::string out = "layer,head,doc,n,r,within_r,within_n_eff,content_r,content_n_eff\n";
  for (const auto& h : heads)
    for (size_t k = 0; k < docs.size() && k < h.doc_r.size(); ++k) {
      Row r;
      r.integer(h.id.layer).integer(h.id.head).integer(docs[k]).integer(static_cast<int64_t>(h.doc_n[k])).num(h.doc_r[k]);
      r.num(h.within.doc_r[k]).num(h.within.doc_n_eff[k]);
      r.num(h.within_content.doc_r[k]).num(h.within_content.doc_n_eff[k]);
      out += r.line();
    }
  return out;
}

std::string docs_csv(const std::vector<HeadStats>& heads, const std::vector<int32_t>& docs,
                     const std::vector<int64_t>& doc_tokens, const AnalysisConfig& cfg,
                     const std::vector<DocMeta>* meta, const std::vector<std::string>& source_file,
                     const std::vector<uint8_t>& half) {
  std::string out =
      "doc,source,source_file,half,tokens,perplexity,positions,heads,mean_r,mean_abs_r,mean_within_r,mean_abs_within_r,"
      "frac_heads_meeting,passing_heads_agreeing\n";
  for (size_t k = 0; k < docs.size(); ++k) {
    const int32_t doc = docs[k];
    const DocMeta* m = meta && doc >= 0 && static_cast<size_t>(doc) < meta->size() ? &(*meta)[doc] : nullptr;
    size_t positions = 0, defined = 0, meeting = 0, passing = 0, passing_meeting = 0;
    long double sr = 0, sa = 0, swr = 0, swa = 0;
    size_t wdefined = 0;
    for (const auto& h : heads) {
      positions = std::max(positions, h.doc_n[k]);
      const double r = h.doc_r[k];
      const double wr = h.primary(cfg).doc_r[k];
      const bool meets = doc_meets(wr, h.primary(cfg).meta.r, cfg);
      if (!std::isnan(r)) ++defined, sr += r, sa += std::fabs(r);
      if (!std::isnan(wr)) ++wdefined, swr += wr, swa += std::fabs(wr);
      meeting += meets;
      if (h.passes) ++passing, passing_meeting += meets;
    }
    Row r;
    r.integer(doc).text(m ? m->source : "");
    r.text(k < source_file.size() ? source_file[k] : "").text(k < half.size() ? (half[k] == 0 ? "A" : "B") : "");
    r.integer(m && m->tokens >= 0 ? m->tokens : doc_tokens[k]);
    r.num(m ? m->perplexity : kNaN);
    r.integer(static_cast<int64_t>(positions)).integer(static_cast<int64_t>(defined));
    r.num(defined ? static_cast<double>(sr / defined) : kNaN).num(defined ? static_cast<double>(sa / defined) : kNaN);
    r.num(wdefined ? static_cast<double>(swr / wdefined) : kNaN).num(wdefined ? static_cast<double>(swa / wdefined) : kNaN);
    r.num(heads.empty() ? kNaN : static_cast<double>(meeting) / static_cast<double>(heads.size()));
    r.num(passing ? static_cast<double>(passing_meeting) / static_cast<double>(passing) : kNaN);
    out += r.line();
  }
  return out;
}

namespace {

// Splits one CSV record (RFC 4180 quoting, no embedded newlines).
std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') cur += '"', ++i;
      else if (c == '"') quoted = false;
      else cur += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  cells.push_back(cur);
  return cells;
}

}  // namespace

std::vector<DocMeta> read_doc_meta(const std::string& path) {
  std::vector<DocMeta> meta;
  if (!std::filesystem::exists(path)) return meta;
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return meta;
  auto header = split_csv_line(line);
  int c_doc = -1, c_source = -1, c_tokens = -1, c_ppl = -1;
  for (int i = 0; i < static_cast<int>(header.size()); ++i) {
    if (header[i] == "doc") c_doc = i;
    if (header[i] == "source") c_source = i;
    if (header[i] == "tokens") c_tokens = i;
    if (header[i] == "perplexity") c_ppl = i;
  }
  if (c_doc < 0) fail_field(path, "doc", "missing column");
  size_t lineno = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    auto cells = split_csv_line(line);
    if (cells.size() != header.size())
      fail_field(path, "line " + std::to_string(lineno), "has " + std::to_string(cells.size()) + " cells, expected " +
                                                            std::to_string(header.size()));
    int64_t doc = -1;
    auto& d = cells[c_doc];
    if (std::from_chars(d.data(), d.data() + d.size(), doc).ec != std::errc() || doc < 0 || doc > 10000000)
      fail_field(path, "doc", "line " + std::to_string(lineno) + ": bad document index '" + d + "'");
    if (static_cast<size_t>(doc) >= meta.size()) meta.resize(doc + 1);
    DocMeta& m = meta[doc];
    if (c_source >= 0) m.source = cells[c_source];
    if (c_tokens >= 0 && !cells[c_tokens].empty()) m.tokens = std::strtoll(cells[c_tokens].c_str(), nullptr, 10);
    if (c_ppl >= 0 && !cells[c_ppl].empty()) m.perplexity = std::strtod(cells[c_ppl].c_str(), nullptr);
  }
  return meta;
}

}  // namespace spectra::stats
