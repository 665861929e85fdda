// Reading AnalysisConfig from TOML and writing it to JSON; see analysis_config.hpp.
#include "stats/analysis_config.hpp"

#include <toml++/toml.h>

#include <set>

#include "util/error.hpp"

namespace spectra::stats {

const char* to_string(Direction d) {
  switch (d) {
    case Direction::Negative: return "negative";
    case Direction::Positive: return "positive";
    case Direction::Both: return "both";
  }
  return "?";
}

const char* to_string(Adjust a) {
  switch (a) {
    case Adjust::BH: return "bh";
    case Adjust::BY: return "by";
    case Adjust::Bonferroni: return "bonferroni";
  }
  return "?";
}

const char* to_string(EntropyKind e) { return e == EntropyKind::Total ? "total" : "content"; }

namespace {

struct Reader {
  const std::string& file;
  const toml::table& tbl;
  std::string prefix;
  std::set<std::string> seen;

  const toml::node* get(const std::string& key) {
    seen.insert(key);
    return tbl.get(key);
  }
  std::string name(const std::string& key) const { return prefix + "." + key; }
  void number(const std::string& key, double& out) {
    if (auto* n = get(key)) {
      if (auto v = n->value<double>()) out = *v;
      else fail_field(file, name(key), "must be a number");
    }
  }
  template <class I>
  void integer(const std::string& key, I& out) {
    if (auto* n = get(key)) {
      if (auto v = n->as_integer()) {
        if (v->get() < 0) fail_field(file, name(key), "must not be negative");
        out = static_cast<I>(v->get());
      } else {
        fail_field(file, name(key), "must be an integer");
      }
    }
  }
  void boolean(const std::string& key, bool& out) {
    if (auto* n = get(key)) {
      if (auto v = n->as_boolean()) out = v->get();
      else fail_field(file, name(key), "must be true or false");
    }
  }
  std::string string(const std::string& key) {
    if (auto* n = get(key)) {
      if (auto v = n->as_string()) return v->get();
      fail_field(file, name(key), "must be a string");
    }
    return {};
  }
  void no_unknown_keys() {
    for (auto& [k, v] : tbl) {
      std::string key(k.str());
      if (!seen.count(key)) fail_field(file, name(key), "unknown key");
    }
  }
};

AnalysisConfig from_table(const toml::table& root, const std::string& file) {
  AnalysisConfig c;
  if (auto* a = root.get("analysis")) {
    if (!a->is_table()) fail_field(file, "analysis", "must be a table");
    Reader r{file, *a->as_table(), "analysis", {}};
    r.integer("min_position", c.min_position);
    r.integer("permutations", c.permutations);
    r.integer("seed", c.seed);
    r.number("confidence", c.confidence);
    r.integer("min_doc_positions", c.min_doc_positions);
    r.integer("threads", c.threads);
    r.integer("spline_knots", c.spline_knots);
    r.no_unknown_keys();
  }
  if (auto* t = root.get("criteria")) {
    if (!t->is_table()) fail_field(file, "criteria", "must be a table");
    Reader r{file, *t->as_table(), "criteria", {}};
    if (auto s = r.string("entropy"); !s.empty()) {
      if (s == "total") c.entropy = EntropyKind::Total;
      else if (s == "content") c.entropy = EntropyKind::Content;
      else fail_field(file, "criteria.entropy", "must be \"total\" or \"content\", not \"" + s + "\"");
    }
    r.integer("min_documents", c.min_documents);
    if (auto s = r.string("direction"); !s.empty()) {
      if (s == "negative") c.direction = Direction::Negative;
      else if (s == "positive") c.direction = Direction::Positive;
      else if (s == "both") c.direction = Direction::Both;
      else fail_field(file, "criteria.direction", "must be \"negative\", \"positive\" or \"both\", not \"" + s + "\"");
    }
    r.boolean("one_sided", c.one_sided);
    if (auto s = r.string("adjust"); !s.empty()) {
      if (s == "bh") c.adjust = Adjust::BH;
      else if (s == "by") c.adjust = Adjust::BY;
      else if (s == "bonferroni") c.adjust = Adjust::Bonferroni;
      else fail_field(file, "criteria.adjust", "must be \"bh\", \"by\" or \"bonferroni\", not \"" + s + "\"");
    }
    r.number("r_threshold", c.r_threshold);
    r.number("alpha", c.alpha);
    r.number("meaningful_fraction", c.meaningful_fraction);
    r.number("null_abs_r_ceiling", c.null_abs_r_ceiling);
    r.boolean("require_null_percentile", c.require_null_percentile);
    r.number("doc_r_threshold", c.doc_r_threshold);
    r.number("doc_agree_fraction", c.doc_agree_fraction);
    r.integer("min_n", c.min_n);
    r.no_unknown_keys();
  }
  c.validate(file);
  return c;
}

}  // namespace

void AnalysisConfig::validate(const std::string& f) const {
  auto in01 = [&](double v, const char* key, bool open_low) {
    if (!(open_low ? v > 0 : v >= 0) || !(v <= 1)) fail_field(f, key, "must be in " + std::string(open_low ? "(0, 1]" : "[0, 1]"));
  };
  if (!(confidence > 0 && confidence < 1)) fail_field(f, "analysis.confidence", "must be in (0, 1)");
  in01(r_threshold, "criteria.r_threshold", false);
  in01(alpha, "criteria.alpha", true);
  in01(meaningful_fraction, "criteria.meaningful_fraction", false);
  in01(null_abs_r_ceiling, "criteria.null_abs_r_ceiling", false);
  in01(doc_r_threshold, "criteria.doc_r_threshold", false);
  in01(doc_agree_fraction, "criteria.doc_agree_fraction", false);
  if (spline_knots < 4) fail_field(f, "analysis.spline_knots", "must be at least 4");
  if (min_doc_positions < spline_knots + 4)
    fail_field(f, "analysis.min_doc_positions",
               "must be at least spline_knots + 4 = " + std::to_string(spline_knots + 4) +
                   " (the position basis has spline_knots + 1 columns)");
  if (min_documents < 1) fail_field(f, "criteria.min_documents", "must be at least 1");
}

AnalysisConfig AnalysisConfig::from_toml_text(const std::string& text, const std::string& name) {
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    fail_at(name, 0,
            "TOML parse error at line " + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
  return from_table(root, name);
}

AnalysisConfig AnalysisConfig::from_toml_file(const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    fail_file(path,
              "TOML parse error at line " + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
  return from_table(root, path);
}

nlohmann::ordered_json AnalysisConfig::to_json() const {
  nlohmann::ordered_json j;
  j["analysis"] = {{"min_position", min_position},          {"permutations", permutations},
                   {"seed", seed},                          {"confidence", confidence},
                   {"min_doc_positions", min_doc_positions}, {"spline_knots", spline_knots}};  // threads: no effect on results
  j["criteria"] = {{"entropy", to_string(entropy)},
                   {"min_documents", min_documents},
                   {"direction", to_string(direction)},
                   {"one_sided", one_sided},
                   {"adjust", to_string(adjust)},
                   {"r_threshold", r_threshold},
                   {"alpha", alpha},
                   {"meaningful_fraction", meaningful_fraction},
                   {"null_abs_r_ceiling", null_abs_r_ceiling},
                   {"require_null_percentile", require_null_percentile},
                   {"doc_r_threshold", doc_r_threshold},
                   {"doc_agree_fraction", doc_agree_fraction},
                   {"min_n", min_n}};
  return j;
}

}  // namespace spectra::stats
