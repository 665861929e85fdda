// report.html: one self-contained page. Static parts are the Markdown
// sections converted to HTML and the PNG figures inlined as data: URIs; the
// interactive part (heatmap with hover and click, per-head scatter and
// per-document r, sortable heads table) is Vega, inlined from libjs-vega,
// driven by report_app.js with the run's numbers inlined as JSON. A
// Content-Security-Policy forbids every network request.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "report/format.hpp"
#include "report/report_sections.hpp"
#include "report/vega_bundle.hpp"
#include "util/error.hpp"

namespace spectra::report {

extern const char* const kReportAppJs;
extern const char* const kReportStyleCss;

namespace {

std::string base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string o;
  o.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    o += t[v >> 18];
    o += t[(v >> 12) & 63];
    o += t[(v >> 6) & 63];
    o += t[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    o += t[v >> 18];
    o += t[(v >> 12) & 63];
    o += i + 1 < in.size() ? t[(v >> 6) & 63] : '=';
    o += '=';
  }
  return o;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_file(path, "cannot read");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string js_string(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\', o += c;
    else if (c == '\n') o += "\\n";
    else if (c == '<') o += "\\u003c";
    else if (static_cast<unsigned char>(c) < 0x20) o += ' ';
    else o += c;
  }
  return o + "\"";
}

// The run's numbers for the page, as compact JSON (numbers rounded so the
// page stays small; samples 4 significant digits).
std::string page_data(const ReportContent& c) {
  const RunFolder& run = *c.run;
  const TupleDigest& d = *c.digest;
  std::ostringstream o;
  o << "{\"layers\":" << run.n_layers << ",\"heads\":" << run.n_heads << ",\"minPos\":" << run.min_pos
    << ",\"decision\":" << js_string(run.decision);
  o << ",\"cols\":[\"layer\",\"head\",\"n\",\"r\",\"rho\",\"p\",\"p_bh\",\"p_by\",\"p_adj\",\"ci_low\",\"ci_high\",\"partial_r\","
       "\"r_norm\",\"shuffle_p95\",\"circular_r\",\"doc_mean_r\",\"doc_sd_r\",\"sign_agreement\",\"passes\",\"within_r\",\"within_ci_low\",\"within_ci_high\",\"tau2\","
       "\"cross_p95\",\"content_r\"]";
  o << ",\"rows\":[";
  bool first = true;
  for (const auto& h : run.heads) {
    o << (first ? "" : ",") << "[" << h.layer << "," << h.head << "," << h.n << "," << json_number(h.r, 5) << ","
      << json_number(h.rho, 5) << "," << json_number(h.p, 4) << "," << json_number(h.p_bh, 4) << ","
      << json_number(h.p_by, 4) << "," << json_number(h.p_adjusted, 4) << "," << json_number(h.ci_low, 5) << "," << json_number(h.ci_high, 5) << ","
      << json_number(h.partial_r, 5) << "," << json_number(h.r_norm, 5) << "," << json_number(h.shuffle_p95_abs_r, 4)
      << "," << json_number(h.circular_r, 4) << "," << json_number(h.doc_mean_r, 4) << "," << json_number(h.doc_sd_r, 4)
      << "," << json_number(h.sign_agreement, 4) << "," << (h.passes ? 1 : 0) << "," << json_number(h.within_r, 5) << ","
      << json_number(h.within_ci_low, 5) << "," << json_number(h.within_ci_high, 5) << "," << json_number(h.within_tau2, 4)
      << "," << json_number(h.cross_p95_abs_r, 4) << "," << json_number(h.content_r, 5) << "]";
    first = false;
  }
  o << "]";
  // Per-head samples: {"L,H": [q..., H..., t..., doc...]} as four arrays.
  o << ",\"samples\":{";
  first = true;
  for (int l = 0; l < d.n_layers; ++l)
    for (int h = 0; h < d.n_heads; ++h) {
      const auto& s = d.samples[static_cast<size_t>(l) * d.n_heads + h];
      if (s.empty()) continue;
      o << (first ? "" : ",") << "\"" << l << "," << h << "\":[[";
      for (size_t i = 0; i < s.size(); ++i) o << (i ? "," : "") << json_number(s[i].q_norm, 4);
      o << "],[";
      for (size_t i = 0; i < s.size(); ++i) o << (i ? "," : "") << json_number(s[i].entropy, 4);
      o << "],[";
      for (size_t i = 0; i < s.size(); ++i) o << (i ? "," : "") << s[i].pos;
      o << "],[";
      for (size_t i = 0; i < s.size(); ++i) o << (i ? "," : "") << s[i].doc;
      o << "]]";
      first = false;
    }
  o << "}";
  // Per-document r: {"L,H": [[doc, r], ...]}.
  std::map<std::pair<int, int>, std::vector<std::pair<int, double>>> by_head;
  for (const auto& x : run.doc_r) by_head[{x.layer, x.head}].push_back({x.doc, x.r});
  o << ",\"docR\":{";
  first = true;
  for (const auto& [key, v] : by_head) {
    o << (first ? "" : ",") << "\"" << key.first << "," << key.second << "\":[";
    for (size_t i = 0; i < v.size(); ++i) o << (i ? "," : "") << "[" << v[i].first << "," << json_number(v[i].second, 4) << "]";
    o << "]";
    first = false;
  }
  o << "}}";
  std::string s = o.str();
  // Safe inside <script type="application/json">.
  for (size_t p = 0; (p = s.find("</", p)) != std::string::npos;) s.replace(p, 2, "<\\/");
  return s;
}

}  // namespace

std::string render_html(const ReportContent& c, const std::string& vega_dir) {
  const RunFolder& run = *c.run;
  const std::string vega = vega_inline_script(vega_dir);
  std::ostringstream o;
  o << "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline' "
       "'unsafe-eval'; style-src 'unsafe-inline'; img-src data:\">\n"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       "<title>Spectra report — "
    << html_escape(run.decision) << "</title>\n<style>\n"
    << kReportStyleCss << "</style>\n</head>\n<body>\n";
  const char* badge = run.decision == "GO" ? "go" : run.decision == "NO-GO" ? "nogo" : "inconclusive";
  o << "<header><h1>Is the query norm ‖q‖ associated with attention entropy?</h1>"
    << "<div id=\"decision\" class=\"badge " << badge << "\">Decision: " << html_escape(run.decision) << "</div>"
    << (run.reason.empty() ? "" : "<p id=\"decision-reason\">" + html_escape(run.reason) + "</p>")
    << "</header>\n<main>\n";
  // Decision and criteria (the section's own heading is replaced by the badge).
  {
    std::string dec = section_decision(run);
    dec = dec.substr(dec.find('\n') + 1);
    o << "<section id=\"criteria\"><h2>Criteria</h2>\n" << markdown_to_html(dec) << "</section>\n";
  }
  o << "<section id=\"interpretation\"><h2>Interpretation</h2>\n"
    << markdown_to_html(interpretation_markdown(run, *c.digest)) << "</section>\n";
  o << "<section id=\"explore\"><h2>Explore the heads</h2>\n"
       "<p class=\"hint\">Hover a cell for its statistics; click it to show that head's scatter and per-document r. "
       "Rings mark heads that pass the criteria.</p>\n"
       "<label>Colour by <select id=\"metric\"><option value=\"within_r\">within-document r (the decision's statistic)</option>"
       "<option value=\"r\">pooled Pearson r (descriptive)</option>"
       "<option value=\"partial_r\">pooled partial r on log(t+1) (descriptive)</option></select></label>\n"
       "<div class=\"explore\"><div id=\"heatmap\" class=\"chart\"></div>\n"
       "<div id=\"detail\"><h3 id=\"detail-title\">Click a heatmap cell</h3><div id=\"detail-stats\"></div>"
       "<div id=\"scatter\" class=\"chart\"></div><div id=\"docbars\" class=\"chart\"></div></div></div>\n"
       "<div id=\"tooltip\" role=\"tooltip\"></div>\n"
       "<h3>All heads</h3><p class=\"hint\">Click a column header to sort, a row to show the head.</p>\n"
       "<div class=\"table-wrap\"><table id=\"heads-table\"></table></div>\n</section>\n";
  if (!c.figures.empty()) {
    o << "<section id=\"figures\"><h2>Figures</h2>\n";
    for (const auto& f : c.figures) {
      const std::string png = slurp((std::filesystem::path(run.dir) / "figures" / (f.name + ".png")).string());
      o << "<figure id=\"fig-" << html_escape(f.name) << "\"><img alt=\"" << html_escape(f.title)
        << "\" src=\"data:image/png;base64," << base64(png) << "\"><figcaption><strong>" << html_escape(f.title)
        << ".</strong> " << html_escape(f.caption) << "</figcaption></figure>\n";
    }
    o << "</section>\n";
  }
  o << "<section id=\"mechanism\">\n" << markdown_to_html(section_mechanism(run)) << "</section>\n";
  o << "<section id=\"budget\">\n" << markdown_to_html(section_budget(run)) << "</section>\n";
  if (run.layers_csv) o << "<section id=\"layers\"><h2>Layers</h2>\n" << markdown_to_html(section_layers(run)) << "</section>\n";
  o << "<section id=\"methods\"><h2>Methods and provenance</h2>\n"
    << markdown_to_html(section_methods(run, *c.digest)) << "</section>\n";
  o << "</main>\n";
  o << "<script id=\"spectra-data\" type=\"application/json\">" << page_data(c) << "</script>\n";
  o << "<script>\n" << vega << "</script>\n";
  o << "<script>\n" << kReportAppJs << "</script>\n</body>\n</html>\n";
  return o.str();
}

}  // namespace spectra::report
