// Study configuration: study.toml parsing (unknown keys and bad values are
// errors naming key and line), flag overrides, validation, and the effective
// configuration written back as TOML. The [analysis] and [criteria] tables
// belong to the statistics code: their keys and types are taken from
// stats::AnalysisConfig (to_json) and their values are parsed and validated
// by it, so `spectra analyze` reads config.toml exactly as the study wrote it.
#include "study/study_config.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include <toml++/toml.h>

#include "util/error.hpp"

namespace spectra::study {
namespace fs = std::filesystem;

const char* to_string(WindowMode m) { return m == WindowMode::All ? "all" : "first"; }
const char* to_string(RawFormat f) { return f == RawFormat::Csv ? "csv" : "npy"; }

namespace {

enum class Kind { Path, PathList, Int, Float, Bool, String, Choice };

struct KeyDef {
  std::string key;  // dotted for the stats tables
  Kind kind = Kind::String;
  int64_t imin = 0, imax = std::numeric_limits<int32_t>::max();
  std::vector<std::string> choices;
  bool stats = false;  // lives in AnalysisConfig
};

const char* kStatsTables[] = {"analysis", "criteria"};

const std::vector<KeyDef>& key_defs() {
  static const std::vector<KeyDef> defs = [] {
    std::vector<KeyDef> d;
    auto def = [](std::string key, Kind kind, int64_t imin = 0, int64_t imax = std::numeric_limits<int32_t>::max(),
                  std::vector<std::string> choices = {}, bool stats = false) {
      KeyDef k;
      k.key = std::move(key);
      k.kind = kind;
      k.imin = imin;
      k.imax = imax;
      k.choices = std::move(choices);
      k.stats = stats;
      return k;
    };
    d.push_back(def("model", Kind::Path));
    d.push_back(def("corpus", Kind::PathList));
    d.push_back(def("out", Kind::Path));
    d.push_back(def("context", Kind::Int, 2, 1 << 24));
    d.push_back(def("windows", Kind::Choice, 0, 0, {"first", "all"}));
    d.push_back(def("min_tokens", Kind::Int, 0, 1 << 24));
    d.push_back(def("precision", Kind::Choice, 0, 0, {"auto", "bf16", "fp32"}));
    d.push_back(def("threads", Kind::Int, 0, 4096));
    d.push_back(def("weights", Kind::Choice, 0, 0, {"auto", "resident", "streaming"}));
    d.push_back(def("budget_mass", Kind::Float));
    d.push_back(def("budget", Kind::Bool));
    d.push_back(def("raw_format", Kind::Choice, 0, 0, {"npy", "csv"}));
    // The statistics' keys, typed by their defaults.
    nlohmann::ordered_json j = stats::AnalysisConfig{}.to_json();
    for (const char* table : kStatsTables) {
      for (auto it = j[table].begin(); it != j[table].end(); ++it) {
        KeyDef k = def(std::string(table) + "." + it.key(), Kind::String, 0, 0, {}, true);
        const auto& v = it.value();
        if (v.is_boolean()) k.kind = Kind::Bool;
        else if (v.is_number_integer()) k.kind = Kind::Int, k.imax = std::numeric_limits<int64_t>::max();
        else if (v.is_number_float()) k.kind = Kind::Float;
        d.push_back(k);
      }
      if (std::string(table) == "analysis" && !j[table].contains("threads")) {
        d.push_back(def("analysis.threads", Kind::Int, 0, 4096, {}, true));
      }
    }
    return d;
  }();
  return defs;
}

const KeyDef* find_key(const std::string& key) {
  for (const auto& d : key_defs())
    if (d.key == key) return &d;
  return nullptr;
}

std::string fmt_double(double x) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, x);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // TOML needs a float to look like one
  return s;
}

std::string toml_string(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      case '\r': o += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  return o + "\"";
}

std::string toml_value(const nlohmann::ordered_json& v) {
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_float()) return fmt_double(v.get<double>());
  if (v.is_string()) return toml_string(v.get<std::string>());
  return toml_string(v.dump());
}

// [analysis] and [criteria] as TOML text.
std::string stats_tables_toml(const stats::AnalysisConfig& a) {
  nlohmann::ordered_json j = a.to_json();
  if (a.threads != 0 && !j["analysis"].contains("threads")) j["analysis"]["threads"] = a.threads;
  std::ostringstream o;
  bool first = true;
  for (const char* table : kStatsTables) {
    o << (first ? "" : "\n") << "[" << table << "]\n";
    first = false;
    for (auto it = j[table].begin(); it != j[table].end(); ++it) o << it.key() << " = " << toml_value(it.value()) << "\n";
  }
  return o.str();
}

// Re-read the statistics' tables through their own parser (threads kept: to_json omits it).
stats::AnalysisConfig reparse_stats(const nlohmann::ordered_json& j, int threads, const std::string& origin) {
  std::ostringstream o;
  for (const char* table : kStatsTables) {
    o << "[" << table << "]\n";
    for (auto it = j[table].begin(); it != j[table].end(); ++it) o << it.key() << " = " << toml_value(it.value()) << "\n";
  }
  stats::AnalysisConfig a = stats::AnalysisConfig::from_toml_text(o.str(), origin);
  a.threads = threads;
  return a;
}

std::string expectation(const KeyDef& d) {
  switch (d.kind) {
    case Kind::Path: return "a path (string)";
    case Kind::PathList: return "a path or a list of paths";
    case Kind::Int:
      if (d.imax >= std::numeric_limits<int32_t>::max()) return "an integer >= " + std::to_string(d.imin);
      return "an integer in [" + std::to_string(d.imin) + ", " + std::to_string(d.imax) + "]";
    case Kind::Float: return "a number";
    case Kind::Bool: return "true or false";
    case Kind::String: return "a string";
    case Kind::Choice: {
      std::string s = "one of";
      for (size_t i = 0; i < d.choices.size(); ++i) s += (i ? ", \"" : " \"") + d.choices[i] + "\"";
      return s;
    }
  }
  return "";
}

// A checked value, in JSON form (string, array of strings, integer, float, bool).
using Value = nlohmann::ordered_json;

std::string check_value(const KeyDef& d, const Value& v) {
  switch (d.kind) {
    case Kind::Int: {
      int64_t x = v.get<int64_t>();
      if (x < d.imin || x > d.imax) return "must be " + expectation(d) + " (got " + std::to_string(x) + ")";
      return "";
    }
    case Kind::Float:
      if (!std::isfinite(v.get<double>())) return "must be a finite number";
      if (d.key == "budget_mass" && !(v.get<double>() > 0 && v.get<double>() < 1))
        return "must be a mass P with 0 < P < 1 (got " + fmt_double(v.get<double>()) + ")";
      return "";
    case Kind::Choice:
      for (const auto& c : d.choices)
        if (c == v.get<std::string>()) return "";
      return "must be " + expectation(d) + " (got \"" + v.get<std::string>() + "\")";
    case Kind::Path:
      if (v.get<std::string>().empty()) return "must not be empty";
      return "";
    case Kind::PathList:
      for (const auto& p : v)
        if (p.get<std::string>().empty()) return "must not contain an empty path";
      return "";
    default: return "";
  }
}

std::string resolve_path(const std::string& p, const std::string& base_dir) {
  if (p.empty() || base_dir.empty()) return p;
  fs::path path(p);
  if (path.is_absolute()) return p;
  return (fs::path(base_dir) / path).lexically_normal().string();
}

std::string type_name(const toml::node& n) {
  std::ostringstream s;
  s << n.type();
  return s.str();
}

// A TOML node -> Value of the key's kind, or an error text.
std::string value_from_toml(const KeyDef& d, const toml::node& n, const std::string& base_dir, Value& out) {
  switch (d.kind) {
    case Kind::Path:
      if (auto s = n.as_string()) return out = resolve_path(s->get(), base_dir), "";
      break;
    case Kind::PathList:
      if (auto s = n.as_string()) return out = Value::array({resolve_path(s->get(), base_dir)}), "";
      if (auto a = n.as_array()) {
        out = Value::array();
        for (const auto& e : *a) {
          auto s = e.as_string();
          if (!s) return "must be " + expectation(d) + " (an element is a " + type_name(e) + ")";
          out.push_back(resolve_path(s->get(), base_dir));
        }
        return "";
      }
      break;
    case Kind::Int:
      if (auto i = n.as_integer()) return out = i->get(), "";
      break;
    case Kind::Float:
      if (auto f = n.as_floating_point()) return out = f->get(), "";
      if (auto i = n.as_integer()) return out = static_cast<double>(i->get()), "";
      break;
    case Kind::Bool:
      if (auto b = n.as_boolean()) return out = b->get(), "";
      break;
    case Kind::String:
    case Kind::Choice:
      if (auto s = n.as_string()) return out = s->get(), "";
      break;
  }
  return "must be " + expectation(d) + " (got a " + type_name(n) + ")";
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Flag text -> Value, or an error text.
std::string value_from_text(const KeyDef& d, const std::string& raw, Value& out) {
  std::string text = trim(raw);
  auto bad = [&] { return "must be " + expectation(d) + " (got '" + raw + "')"; };
  switch (d.kind) {
    case Kind::Path:
    case Kind::String:
    case Kind::Choice: out = text; return "";
    case Kind::PathList: out = Value::array({text}); return "";
    case Kind::Int: {
      int64_t x = 0;
      auto r = std::from_chars(text.data(), text.data() + text.size(), x);
      if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size()) return bad();
      out = x;
      return "";
    }
    case Kind::Float: {
      double x = 0;
      auto r = std::from_chars(text.data(), text.data() + text.size(), x);
      if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size()) return bad();
      out = x;
      return "";
    }
    case Kind::Bool:
      if (text == "true" || text == "1" || text == "yes" || text == "on") return out = true, "";
      if (text == "false" || text == "0" || text == "no" || text == "off") return out = false, "";
      return bad();
  }
  return "";
}

// Assign a checked value (not the stats keys).
void set_study_key(StudyConfig& c, const std::string& key, const Value& v) {
  if (key == "model") c.model = v.get<std::string>();
  else if (key == "corpus") c.corpus = v.get<std::vector<std::string>>();
  else if (key == "out") c.out = v.get<std::string>();
  else if (key == "context") c.context = static_cast<int>(v.get<int64_t>());
  else if (key == "windows") c.windows = v.get<std::string>() == "all" ? WindowMode::All : WindowMode::First;
  else if (key == "min_tokens") c.min_tokens = static_cast<int>(v.get<int64_t>());
  else if (key == "precision") c.precision = v.get<std::string>();
  else if (key == "threads") c.threads = static_cast<int>(v.get<int64_t>());
  else if (key == "weights") c.weights = v.get<std::string>();
  else if (key == "budget_mass") c.budget_mass = v.get<double>();
  else if (key == "budget") c.budget = v.get<bool>();
  else if (key == "raw_format") c.raw_format = v.get<std::string>() == "csv" ? RawFormat::Csv : RawFormat::Npy;
}

std::string line_of(const toml::source_region& s) { return "line " + std::to_string(s.begin.line); }

std::string known_keys_text(const std::string& table) {
  std::string s;
  for (const auto& d : key_defs()) {
    bool in_table = !table.empty() && d.key.rfind(table + ".", 0) == 0;
    if (!table.empty() && !in_table) continue;
    if (table.empty() && d.stats) continue;
    s += (s.empty() ? "" : ", ") + (table.empty() ? d.key : d.key.substr(table.size() + 1));
  }
  if (table.empty()) s += ", [analysis], [criteria]";
  return s;
}

}  // namespace

const std::vector<std::string>& config_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& d : key_defs()) k.push_back(d.key);
    return k;
  }();
  return keys;
}

std::string key_value_hint(const std::string& key) {
  const KeyDef* d = find_key(key);
  if (!d) return "";
  switch (d->kind) {
    case Kind::Path: return "PATH";
    case Kind::PathList: return "PATH";
    case Kind::Int: return d->imin > 0 ? "INT>=" + std::to_string(d->imin) : "INT";
    case Kind::Float: return "NUMBER";
    case Kind::Bool: return "true|false";
    case Kind::String: return "TEXT";
    case Kind::Choice: {
      std::string s;
      for (const auto& c : d->choices) s += (s.empty() ? "" : "|") + c;
      return s;
    }
  }
  return "";
}

std::string flag_for_key(const std::string& key) {
  std::string k = key;
  for (const char* t : kStatsTables) {
    std::string p = std::string(t) + ".";
    if (k.rfind(p, 0) == 0) k = k.substr(p.size());
  }
  for (auto& c : k)
    if (c == '_') c = '-';
  return "--" + k;
}

StudyConfig parse_study_config(const std::string& text, const std::string& origin, const std::string& base_dir) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    fail_file(origin, line_of(e.source()) + ", column " + std::to_string(e.source().begin.column) + ": " +
                          std::string(e.description()));
  }
  StudyConfig cfg;
  nlohmann::ordered_json stats_json = cfg.analysis.to_json();
  std::vector<std::pair<std::string, int>> stats_lines;  // key -> line, for the statistics' own messages
  auto handle = [&](const std::string& key, const toml::node& node, const toml::source_region& where) {
    const KeyDef* d = find_key(key);
    if (!d) {
      std::string table = key.find('.') == std::string::npos ? "" : key.substr(0, key.find('.'));
      if (node.is_table() && table.empty())
        fail_file(origin, line_of(where) + ": unknown table [" + key + "] (known keys: " + known_keys_text("") + ")");
      fail_file(origin, line_of(where) + ": unknown key '" + key + "' (known keys" +
                            (table.empty() ? "" : " in [" + table + "]") + ": " + known_keys_text(table) + ")");
    }
    Value v;
    std::string err = value_from_toml(*d, node, base_dir, v);
    if (err.empty()) err = check_value(*d, v);
    if (!err.empty()) fail_file(origin, line_of(node.source()) + ": key '" + key + "': " + err);
    if (!d->stats) {
      set_study_key(cfg, key, v);
    } else if (key == "analysis.threads") {
      cfg.analysis.threads = static_cast<int>(v.get<int64_t>());
    } else {
      size_t dot = key.find('.');
      stats_json[key.substr(0, dot)][key.substr(dot + 1)] = v;
      stats_lines.emplace_back(key, static_cast<int>(node.source().begin.line));
    }
  };
  for (auto&& [k, node] : root) {
    std::string key(k.str());
    bool is_table = false;
    for (const char* t : kStatsTables) is_table |= key == t;
    if (is_table) {
      auto* t = node.as_table();
      if (!t) fail_file(origin, line_of(k.source()) + ": key '" + key + "' must be a table ([" + key + "])");
      for (auto&& [k2, node2] : *t) handle(key + "." + std::string(k2.str()), node2, k2.source());
      continue;
    }
    handle(key, node, k.source());
  }
  int threads = cfg.analysis.threads;
  try {
    cfg.analysis = reparse_stats(stats_json, threads, origin);
  } catch (const Error& e) {
    // Point at the line of the key the statistics code complains about.
    std::string msg = e.what();
    for (const auto& [key, line] : stats_lines) {
      std::string tag = "'" + key + "'";
      auto pos = msg.find(tag);
      if (pos == std::string::npos) continue;
      std::string what = msg.substr(pos + tag.size());
      if (what.rfind(": ", 0) == 0) what = what.substr(2);
      fail_file(origin, "line " + std::to_string(line) + ": key '" + key + "': " + what);
    }
    throw;
  }
  return cfg;
}

StudyConfig load_study_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_file(path, "cannot open the study configuration");
  std::stringstream ss;
  ss << in.rdbuf();
  fs::path base = fs::absolute(fs::path(path)).parent_path();
  return parse_study_config(ss.str(), path, base.string());
}

void apply_override(StudyConfig& cfg, const std::string& key, const std::string& value, const std::string& flag,
                    bool append) {
  const KeyDef* d = find_key(key);
  if (!d) throw Error(flag + ": unknown configuration key '" + key + "' (known keys: " + known_keys_text("") + ")");
  Value v;
  std::string err = value_from_text(*d, value, v);
  if (err.empty()) err = check_value(*d, v);
  if (!err.empty()) throw Error(flag + ": " + err);
  if (!d->stats) {
    if (d->kind == Kind::PathList && append) cfg.corpus.push_back(v[0].get<std::string>());
    else set_study_key(cfg, key, v);
    return;
  }
  if (key == "analysis.threads") {
    cfg.analysis.threads = static_cast<int>(v.get<int64_t>());
    return;
  }
  nlohmann::ordered_json j = cfg.analysis.to_json();
  size_t dot = key.find('.');
  j[key.substr(0, dot)][key.substr(dot + 1)] = v;
  try {
    cfg.analysis = reparse_stats(j, cfg.analysis.threads, flag);
  } catch (const Error& e) {
    // "FLAG: field 'criteria.alpha': must be in (0, 1]" -> "FLAG: must be in (0, 1] (got '2')"
    std::string msg = e.what(), tag = "'" + key + "': ";
    auto pos = msg.find(tag);
    if (pos != std::string::npos) throw Error(flag + ": " + msg.substr(pos + tag.size()) + " (got '" + value + "')");
    throw;
  }
}

void validate(const StudyConfig& c, const std::string& origin) {
  if (c.min_tokens > c.context)
    throw Error(origin + ": min_tokens (" + std::to_string(c.min_tokens) + ") exceeds context (" +
                std::to_string(c.context) + "): no window could qualify");
  if (static_cast<int64_t>(c.analysis.min_position) + 3 > c.context)
    throw Error(origin + ": analysis.min_position (" + std::to_string(c.analysis.min_position) +
                ") leaves fewer than 3 positions of a " + std::to_string(c.context) + "-token window");
  c.analysis.validate(origin);
}

std::string to_toml(const StudyConfig& c, const std::vector<std::string>& header) {
  std::ostringstream o;
  for (const auto& h : header) o << "# " << h << "\n";
  if (!header.empty()) o << "\n";
  o << "model = " << toml_string(c.model) << "\n";
  o << "corpus = [";
  for (size_t i = 0; i < c.corpus.size(); ++i) o << (i ? ", " : "") << toml_string(c.corpus[i]);
  o << "]\n";
  if (!c.out.empty()) o << "out = " << toml_string(c.out) << "\n";
  o << "context = " << c.context << "\n";
  o << "windows = " << toml_string(to_string(c.windows)) << "\n";
  o << "min_tokens = " << c.min_tokens << "\n";
  o << "precision = " << toml_string(c.precision) << "\n";
  o << "threads = " << c.threads << "\n";
  o << "weights = " << toml_string(c.weights) << "\n";
  o << "budget_mass = " << fmt_double(c.budget_mass) << "\n";
  o << "budget = " << (c.budget ? "true" : "false") << "\n";
  o << "raw_format = " << toml_string(to_string(c.raw_format)) << "\n\n";
  o << stats_tables_toml(c.analysis);
  return o.str();
}

bool operator==(const StudyConfig& a, const StudyConfig& b) {
  return a.model == b.model && a.corpus == b.corpus && a.out == b.out && a.context == b.context &&
         a.windows == b.windows && a.min_tokens == b.min_tokens && a.precision == b.precision &&
         a.threads == b.threads && a.weights == b.weights && a.budget_mass == b.budget_mass && a.budget == b.budget && a.raw_format == b.raw_format && a.analysis.to_json() == b.analysis.to_json() &&
         a.analysis.threads == b.analysis.threads;
}

}  // namespace spectra::study
