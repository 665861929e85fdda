// `spectra trace --out DIR`: the traced head's matrices as CSV files and two
// figures (see head_trace.hpp for the list). Figures go through the shared
// gnuplot driver (report/gnuplot.hpp).
//
//   tokens.csv       pos, token_id, token, q_norm, k_norm, entropy, entropy_norm,
//                    sink_mass, max_attn, argmax, engine_q_norm, engine_entropy,
//                    entropy_fixed_norm, neg_var_score, max_score, logsumexp,
//                    k_budget and their engine_ values
//   q.csv / k.csv    pos, then head_dim columns (after RoPE)
//   scores.csv       pos, then n columns s_tj (empty where masked, j > t)
//   attention.csv    pos, then n columns p_tj (0 where masked)
//   layer_heads.csv  head, pos, q_norm, entropy, engine_q_norm, engine_entropy
//   correlation.csv  head, n, r (positions ≥ 1)
//   check.json       the cross-check numbers and verdict
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dissect/head_trace.hpp"
#include "report/gnuplot.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace spectra::dissect {

namespace {

using report::gp_str;

std::string num(double v) {
  if (!std::isfinite(v)) return "";
  char b[40];
  std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}

std::string dat(double v) {
  if (!std::isfinite(v)) return "NaN";
  char b[40];
  std::snprintf(b, sizeof b, "%.7g", v);
  return b;
}

// RFC 4180 field: quoted when it holds a comma, quote or line break.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) {
    if (c == '"') o += '"';
    o += c;
  }
  return o + "\"";
}

// A short, single-line label for a tick: control characters escaped, '%'
// doubled (gnuplot reads tic labels as format strings), at most `cols`
// characters (UTF-8 sequences kept whole).
std::string tick_label(const std::string& s, size_t cols) {
  std::string o;
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80 && n++ == cols) return o + "…";
    if (c == '\n') o += "\\n";
    else if (c == '\t') o += "\\t";
    else if (c < 0x20) o += '?';
    else if (c == '%') o += "%%";
    else o += static_cast<char>(c);
  }
  return o;
}

void write_matrix_csv(const std::string& path, const std::vector<double>& m, int64_t rows, int64_t cols,
                      const std::string& col_prefix) {
  AtomicFile f(path);
  auto& o = f.stream();
  o << "pos";
  for (int64_t j = 0; j < cols; ++j) o << ',' << col_prefix << j;
  o << '\n';
  for (int64_t t = 0; t < rows; ++t) {
    o << t;
    for (int64_t j = 0; j < cols; ++j) o << ',' << num(m[t * cols + j]);
    o << '\n';
  }
  f.commit();
}

std::string attention_figure(report::Gnuplot& gp, const HeadTrace& tr) {
  const int64_t n = tr.n;
  std::ostringstream cells;
  double pmax = 0;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t j = 0; j < n; ++j) {
      const double p = j <= t ? tr.prob(t, j) : NAN;
      if (j <= t) pmax = std::max(pmax, p);
      cells << j << ' ' << t << ' ' << dat(p) << '\n';
    }
    cells << '\n';
  }
  // Token labels on both axes; every step-th one when there are many.
  const int64_t step = std::max<int64_t>(1, (n + 47) / 48);
  const size_t label_cols = n <= 24 ? 14 : 10;
  std::string tics;
  for (int64_t t = 0; t < n; t += step) {
    tics += std::string(tics.empty() ? "" : ", ") +
            gp_str(std::to_string(t) + " " + tick_label(tr.token_text[t], label_cols)) + " " + std::to_string(t);
  }
  report::GnuplotFigure f;
  f.name = "attention_L" + std::to_string(tr.layer) + "_H" + std::to_string(tr.head);
  f.width = 1000;
  f.height = 940;
  f.data = {{"cells.dat", cells.str()}};
  std::ostringstream s;
  s << "set lmargin at screen 0.19\nset rmargin at screen 0.83\nset bmargin at screen 0.19\nset tmargin at screen 0.88\n";
  s << "set palette defined (0 '#ffffff', 0.05 '#fff7bc', 0.2 '#fec44f', 0.45 '#ec7014', 0.7 '#993404', 1 '#3b0f00')\n";
  s << "set cbrange [0:" << dat(std::max(pmax, 1e-6)) << "]\nset cblabel 'attention weight p_{tj}'\n";
  s << "set colorbox user origin screen 0.86, screen 0.19 size screen 0.025, screen 0.69\n";
  s << "set xrange [-0.5:" << n - 0.5 << "]\nset yrange [" << n - 0.5 << ":-0.5]\n";
  s << "set xtics (" << tics << ") rotate by 60 right out nomirror noenhanced font ',8'\n";
  s << "set ytics (" << tics << ") out nomirror noenhanced font ',8'\n";
  s << "set xlabel 'key position j (token)' offset 0,-0.5\nset ylabel 'query position t (token)' offset -1,0\n";
  s << "set object 1 rectangle from graph 0,0 to graph 1,1 behind fillcolor rgb '#d9d9d9' fs solid noborder\n";
  s << "set title "
    << gp_str("Attention of layer " + std::to_string(tr.layer) + ", head " + std::to_string(tr.head) + " (KV head " +
              std::to_string(tr.kv_head) + "), " + std::to_string(n) +
              " tokens\n{/*0.8 softmax(q_t·k_j/√d) over j ≤ t; grey = masked (j > t)}")
    << '\n';
  s << "plot 'cells.dat' using 1:2:3 with image notitle\n";
  f.script = s.str();
  gp.render(f);
  return f.name;
}

std::string correlation_figure(report::Gnuplot& gp, const HeadTrace& tr) {
  const int H = tr.n_heads;
  const int cols = std::min(8, static_cast<int>(std::ceil(std::sqrt(2.0 * H))));
  const int rows = (H + cols - 1) / cols;
  report::GnuplotFigure f;
  f.name = "correlation_L" + std::to_string(tr.layer);
  f.width = std::max(700, cols * 260);
  f.height = 110 + rows * 260;
  for (int h = 0; h < H; ++h) {
    std::ostringstream d;
    for (int64_t t = 1; t < tr.n; ++t)
      d << t << ' ' << dat(tr.layer_q_norm[h][t]) << ' ' << dat(tr.layer_entropy[h][t]) << '\n';
    if (tr.n < 2) d << "NaN NaN NaN\n";
    std::string file = "h";
    file += std::to_string(h);
    file += ".dat";
    f.data.emplace_back(file, d.str());
  }
  const double top = 1.0 - 70.0 / f.height;  // room for the overall title
  std::ostringstream s;
  s << "set palette defined (0 '#1d1147', 0.35 '#51127c', 0.6 '#b73779', 0.8 '#e8573d', 1 '#f59f1c')\n";
  s << "set cbrange [1:" << std::max<int64_t>(2, tr.n - 1) << "]\nunset colorbox\n";
  const double bottom = 55.0 / f.height, vspace = 75.0 / f.height;
  s << "set multiplot layout " << rows << "," << cols << " margins screen 0.06, screen 0.99, screen " << dat(bottom)
    << ", screen " << dat(top) << " spacing screen 0.055, screen " << dat(vspace)
    << " title "
    << gp_str("‖q‖ against attention entropy H, every head of layer " + std::to_string(tr.layer) + ", positions 1–" +
              std::to_string(std::max<int64_t>(1, tr.n - 1)) +
              " of this input\n{/*0.8 one point per position, coloured by position (dark = early, orange = late); r = "
              "Pearson; traced head in red}")
    << " font ',12'\n";
  s << "set tics font ',8'\nset xlabel '‖q‖' font ',9' offset 0,0.6\nset ylabel 'H (nats)' font ',9' offset 0.5,0\n";
  s << "set format x '%g'\nset format y '%g'\nset key off\nset offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05\n";
  for (int h = 0; h < H; ++h) {
    char r[48];
    if (std::isfinite(tr.layer_r[h])) std::snprintf(r, sizeof r, "r = %+.3f", tr.layer_r[h]);
    else std::snprintf(r, sizeof r, "r = n/a");
    const bool traced = h == tr.head;
    s << "set title " << gp_str("head " + std::to_string(h) + (traced ? " (traced)" : "") + "   " + r)
      << " font ',10' tc rgb '" << (traced ? "#cb181d" : "#000000") << "' offset 0,-0.6\n";
    s << "set border lc rgb '" << (traced ? "#cb181d" : "#000000") << "'\n";
    s << "plot 'h" << h << ".dat' using 2:3:1 with points pt 7 ps 0.7 lc palette\n";
  }
  s << "unset multiplot\n";
  f.script = s.str();
  gp.render(f);
  return f.name;
}

}  // namespace

std::vector<std::string> write_trace_output(const HeadTrace& tr, const std::string& out_dir,
                                            const std::string& gnuplot) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) fail_file(out_dir, "cannot create the output folder: " + ec.message());
  const auto path = [&](const std::string& name) { return (fs::path(out_dir) / name).string(); };
  const int64_t n = tr.n;
  const bool eng = tr.check.ran;

  {
    AtomicFile f(path("tokens.csv"));
    auto& o = f.stream();
    o << "pos,token_id,token,q_norm,k_norm,entropy,entropy_norm,sink_mass,max_attn,argmax,engine_q_norm,"
         "engine_entropy,entropy_fixed_norm,neg_var_score,max_score,logsumexp,k_budget,engine_entropy_fixed_norm,"
         "engine_neg_var_score,engine_max_score,engine_logsumexp,engine_k_budget\n";
    for (int64_t t = 0; t < n; ++t) {
      const double hn = t > 0 ? tr.entropy[t] / std::log(static_cast<double>(t + 1)) : NAN;
      o << t << ',' << tr.tokens[t] << ',' << csv_field(tr.token_text[t]) << ',' << num(tr.q_norm[t]) << ','
        << num(tr.k_norm[t]) << ',' << num(tr.entropy[t]) << ',' << num(hn) << ',' << num(tr.sink_mass[t]) << ','
        << num(tr.max_attn[t]) << ',' << tr.argmax[t] << ',' << (eng ? num(tr.engine_q_norm[tr.head][t]) : "")
        << ',' << (eng ? num(tr.engine_entropy[tr.head][t]) : "") << ',' << num(tr.entropy_fixed_norm[t]) << ','
        << num(tr.neg_var_score[t]) << ',' << num(tr.max_score[t]) << ',' << num(tr.logsumexp[t]) << ','
        << num(tr.k_budget[t]);
      for (const auto* e : {&tr.engine_fixed_entropy, &tr.engine_neg_var, &tr.engine_max_score, &tr.engine_logsumexp,
                            &tr.engine_k_budget})
        o << ',' << (eng ? num((*e)[tr.head][t]) : "");
      o << '\n';
    }
    f.commit();
  }
  write_matrix_csv(path("q.csv"), tr.q, n, tr.head_dim, "d");
  write_matrix_csv(path("k.csv"), tr.k, n, tr.head_dim, "d");
  write_matrix_csv(path("scores.csv"), tr.scores, n, n, "j");
  write_matrix_csv(path("attention.csv"), tr.probs, n, n, "j");
  {
    AtomicFile f(path("layer_heads.csv"));
    auto& o = f.stream();
    o << "head,pos,q_norm,entropy,engine_q_norm,engine_entropy,entropy_fixed_norm,neg_var_score,max_score,"
         "logsumexp,k_budget,engine_entropy_fixed_norm,engine_neg_var_score,engine_max_score,engine_logsumexp,"
         "engine_k_budget\n";
    for (int h = 0; h < tr.n_heads; ++h)
      for (int64_t t = 0; t < n; ++t) {
        o << h << ',' << t << ',' << num(tr.layer_q_norm[h][t]) << ',' << num(tr.layer_entropy[h][t]) << ','
          << (eng ? num(tr.engine_q_norm[h][t]) : "") << ',' << (eng ? num(tr.engine_entropy[h][t]) : "");
        for (const auto* r : {&tr.layer_fixed_entropy, &tr.layer_neg_var, &tr.layer_max_score, &tr.layer_logsumexp,
                              &tr.layer_k_budget})
          o << ',' << num((*r)[h][t]);
        for (const auto* e : {&tr.engine_fixed_entropy, &tr.engine_neg_var, &tr.engine_max_score,
                              &tr.engine_logsumexp, &tr.engine_k_budget})
          o << ',' << (eng ? num((*e)[h][t]) : "");
        o << '\n';
      }
    f.commit();
  }
  {
    AtomicFile f(path("correlation.csv"));
    auto& o = f.stream();
    o << "head,n,r\n";
    for (int h = 0; h < tr.n_heads; ++h) o << h << ',' << std::max<int64_t>(0, n - 1) << ',' << num(tr.layer_r[h]) << '\n';
    f.commit();
  }
  {
    const CrossCheck& c = tr.check;
    const auto jnum = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    nlohmann::json j = {{"layer", tr.layer},
                        {"head", tr.head},
                        {"kv_head", tr.kv_head},
                        {"tokens", n},
                        {"reference_rope_layout", to_string(tr.rope_layout)},
                        {"rope_layout_overridden", tr.rope_layout_overridden},
                        {"ran", c.ran},
                        {"passed", c.passed},
                        {"tolerance", c.tolerance},
                        {"engine_precision", c.engine_precision},
                        {"max_q_norm_rel_diff", jnum(c.max_q_norm_rel)},
                        {"max_entropy_abs_diff", jnum(c.max_entropy_abs)},
                        {"q_norm_worst", {{"head", c.q_norm_worst_head}, {"pos", c.q_norm_worst_pos}}},
                        {"entropy_worst", {{"head", c.entropy_worst_head}, {"pos", c.entropy_worst_pos}}},
                        {"traced_head_q_norm_rel_diff", jnum(c.head_q_norm_rel)},
                        {"traced_head_entropy_abs_diff", jnum(c.head_entropy_abs)},
                        {"traced_head_sink_abs_diff", jnum(c.max_sink_abs)},
                        {"traced_head_max_attn_abs_diff", jnum(c.max_max_attn_abs)},
                        {"reference_norm", jnum(tr.ref_norm)},
                        {"budget_mass", tr.budget_mass},
                        {"max_entropy_fixed_norm_abs_diff", jnum(c.max_fixed_entropy_abs)},
                        {"max_neg_var_score_rel_diff", jnum(c.max_neg_var_rel)},
                        {"max_max_score_rel_diff", jnum(c.max_max_score_rel)},
                        {"max_logsumexp_rel_diff", jnum(c.max_logsumexp_rel)},
                        {"k_budget_rows_differing", c.k_budget_mismatch},
                        {"k_budget_rows_ambiguous", c.k_budget_ambiguous}};
    write_file_atomic(path("check.json"), j.dump(2) + "\n");
  }

  report::Gnuplot gp(gnuplot, out_dir);
  std::vector<std::string> figs;
  figs.push_back(attention_figure(gp, tr));
  figs.push_back(correlation_figure(gp, tr));
  return figs;
}

}  // namespace spectra::dissect
