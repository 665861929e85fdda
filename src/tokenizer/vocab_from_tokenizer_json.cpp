// HF tokenizer.json (+ tokenizer_config.json) -> Vocab. Supports model.type
// BPE in its two common shapes: byte-level (ByteLevel pre-tokenizer, optional
// Split/Digits/Punctuation steps) and SentencePiece-style (byte_fallback with
// a Prepend/Replace "▁" normalizer or a Metaspace pre-tokenizer).
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tokenizer/vocab_loaders.hpp"
#include "util/error.hpp"

namespace spectra {
namespace {

using nlohmann::json;
constexpr const char* kSpaceMarker = "\xE2\x96\x81";

json read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_file(path, "cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return json::parse(ss.str());
  } catch (const json::parse_error& e) {
    fail_at(path, e.byte, std::string("malformed JSON: ") + e.what());
  } catch (const json::exception& e) {  // e.g. a number too large for a double
    fail_file(path, std::string("malformed JSON: ") + e.what());
  }
}

// Field access that names the field on failure.
struct Reader {
  std::string file;
  // obj[key]; `parent` is obj's own field path ("" at the top level).
  const json& need(const json& obj, const std::string& key, const std::string& parent) const {
    if (!obj.is_object() || !obj.contains(key)) fail_field(file, parent.empty() ? key : parent + "." + key, "missing");
    return obj.at(key);
  }
  std::string str(const json& v, const std::string& field) const {
    if (!v.is_string()) fail_field(file, field, "expected a string, got " + std::string(v.type_name()));
    return v.get<std::string>();
  }
  bool flag(const json& obj, const std::string& key, bool def, const std::string& field) const {
    if (!obj.is_object() || !obj.contains(key) || obj.at(key).is_null()) return def;
    if (!obj.at(key).is_boolean()) fail_field(file, field.empty() ? key : field + "." + key, "expected true or false");
    return obj.at(key).get<bool>();
  }
};

std::string escape_literal(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}-/#").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

SplitBehavior parse_behavior(const Reader& rd, const json& v, const std::string& field) {
  const std::string b = rd.str(v, field);
  if (b == "Isolated") return SplitBehavior::Isolated;
  if (b == "Removed") return SplitBehavior::Removed;
  if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (b == "Contiguous") return SplitBehavior::Contiguous;
  fail_field(rd.file, field,
             "unsupported behavior '" + b + "' (supported: Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous)");
}

struct PreTokenizerInfo {
  std::vector<SplitRule> rules;
  bool byte_level = false;
  bool add_prefix_space = false;
  bool metaspace = false;
  SpacePrefix metaspace_prefix = SpacePrefix::Always;
  bool metaspace_split = false;
};

// Sequences nest; real files use one level. The limit keeps a hostile file's
// nesting from exhausting the stack.
constexpr int kMaxNesting = 8;

void check_nesting(const Reader& rd, int depth, const std::string& field) {
  if (depth > kMaxNesting) fail_field(rd.file, field, "Sequence nested more than " + std::to_string(kMaxNesting) + " deep");
}

// obj[key], or null when absent: a reference, never a copy (copying a value
// recurses once per nesting level).
const json& member_or_null(const json& obj, const char* key) {
  static const json null;
  if (!obj.is_object()) return null;
  auto it = obj.find(key);
  return it == obj.end() ? null : *it;
}

// obj[key] if obj is an object whose key holds a string, else "".
std::string string_member(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

void parse_pre_tokenizer(const Reader& rd, const json& pt, const std::string& field, PreTokenizerInfo& info,
                         int depth = 0) {
  if (pt.is_null()) return;
  check_nesting(rd, depth, field);
  const std::string type = rd.str(rd.need(pt, "type", field), field + ".type");
  if (type == "Sequence") {
    const json& list = rd.need(pt, "pretokenizers", field);
    if (!list.is_array()) fail_field(rd.file, field + ".pretokenizers", "expected an array");
    for (size_t i = 0; i < list.size(); ++i)
      parse_pre_tokenizer(rd, list[i], field + ".pretokenizers[" + std::to_string(i) + "]", info, depth + 1);
  } else if (type == "Split") {
    const json& pat = rd.need(pt, "pattern", field);
    SplitRule rule;
    if (pat.is_object() && pat.contains("Regex")) rule.pattern = rd.str(pat.at("Regex"), field + ".pattern.Regex");
    else if (pat.is_object() && pat.contains("String"))
      rule.pattern = escape_literal(rd.str(pat.at("String"), field + ".pattern.String"));
    else fail_field(rd.file, field + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
    rule.behavior = pt.contains("behavior") ? parse_behavior(rd, pt.at("behavior"), field + ".behavior")
                                            : SplitBehavior::Isolated;
    rule.invert = rd.flag(pt, "invert", false, field);
    info.rules.push_back(rule);
  } else if (type == "ByteLevel") {
    info.byte_level = true;
    info.add_prefix_space = rd.flag(pt, "add_prefix_space", false, field);
    if (rd.flag(pt, "use_regex", true, field)) info.rules.push_back({kGpt2Regex, SplitBehavior::Isolated, false});
  } else if (type == "Digits") {
    const bool individual = rd.flag(pt, "individual_digits", false, field);
    info.rules.push_back({individual ? R"(\p{N})" : R"(\p{N}+)", SplitBehavior::Isolated, false});
  } else if (type == "Punctuation") {
    SplitRule rule{R"([\p{P}\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E])", SplitBehavior::Isolated, false};
    if (pt.contains("behavior")) rule.behavior = parse_behavior(rd, pt.at("behavior"), field + ".behavior");
    info.rules.push_back(rule);
  } else if (type == "Metaspace") {
    info.metaspace = true;
    if (pt.contains("replacement") && rd.str(pt.at("replacement"), field + ".replacement") != kSpaceMarker)
      fail_field(rd.file, field + ".replacement", "only \"\xE2\x96\x81\" is supported");
    std::string scheme = "always";
    if (pt.contains("prepend_scheme")) scheme = rd.str(pt.at("prepend_scheme"), field + ".prepend_scheme");
    else if (!rd.flag(pt, "add_prefix_space", true, field)) scheme = "never";
    if (scheme == "always") info.metaspace_prefix = SpacePrefix::Always;
    else if (scheme == "first") info.metaspace_prefix = SpacePrefix::First;
    else if (scheme == "never") info.metaspace_prefix = SpacePrefix::Never;
    else fail_field(rd.file, field + ".prepend_scheme", "unsupported value '" + scheme + "' (always, first, never)");
    info.metaspace_split = rd.flag(pt, "split", true, field);
  } else {
    fail_field(rd.file, field,
               "unsupported pre-tokenizer type '" + type +
                   "' (supported: Sequence, Split, ByteLevel, Digits, Punctuation, Metaspace)");
  }
}

struct NormalizerInfo {
  bool prepend_marker = false;
  bool replace_space = false;
};

void parse_normalizer(const Reader& rd, const json& n, const std::string& field, NormalizerInfo& info,
                      int depth = 0) {
  if (n.is_null()) return;
  check_nesting(rd, depth, field);
  const std::string type = rd.str(rd.need(n, "type", field), field + ".type");
  if (type == "Sequence") {
    const json& list = rd.need(n, "normalizers", field);
    if (!list.is_array()) fail_field(rd.file, field + ".normalizers", "expected an array");
    for (size_t i = 0; i < list.size(); ++i)
      parse_normalizer(rd, list[i], field + ".normalizers[" + std::to_string(i) + "]", info, depth + 1);
  } else if (type == "Prepend") {
    if (rd.str(rd.need(n, "prepend", field), field + ".prepend") != kSpaceMarker)
      fail_field(rd.file, field + ".prepend", "only \"\xE2\x96\x81\" is supported");
    info.prepend_marker = true;
  } else if (type == "Replace") {
    const json& pat = rd.need(n, "pattern", field);
    const bool ok = pat.is_object() && pat.contains("String") && pat.at("String") == " " &&
                    rd.need(n, "content", field) == kSpaceMarker;
    if (!ok) fail_field(rd.file, field, "only Replace(\" \" -> \"\xE2\x96\x81\") is supported");
    info.replace_space = true;
  } else if (type == "NFC") {
    // Accepted as llama.cpp does: the text is taken to be NFC already.
  } else {
    fail_field(rd.file, field, "unsupported normalizer type '" + type + "' (supported: Sequence, Prepend, Replace, NFC)");
  }
}

// The id a token named in tokenizer_config.json / post_processor refers to.
int32_t special_id(const Reader& rd, const json& v, const TokenIndex& index, const std::string& field) {
  if (v.is_null()) return -1;
  std::string text;
  if (v.is_string()) text = v.get<std::string>();
  else if (v.is_object() && v.contains("content")) text = rd.str(v.at("content"), field + ".content");
  else fail_field(rd.file, field, "expected a string or {\"content\": ...}");
  auto it = index.find(text);
  if (it == index.end()) fail_field(rd.file, field, "token '" + text + "' is not in the vocabulary");
  return it->second;
}

// TemplateProcessing that starts with a special token -> that token's id.
// (A post-processor is optional: anything unexpected in it means "no BOS".)
std::optional<int32_t> template_bos(const json& pp, const TokenIndex& index, int depth = 0) {
  if (!pp.is_object() || depth > kMaxNesting) return std::nullopt;
  const std::string type = string_member(pp, "type");
  if (type == "Sequence" && pp.contains("processors") && pp.at("processors").is_array()) {
    for (const auto& p : pp.at("processors"))
      if (auto id = template_bos(p, index, depth + 1)) return id;
    return std::nullopt;
  }
  if (type != "TemplateProcessing" || !pp.contains("single") || !pp.at("single").is_array() ||
      pp.at("single").empty())
    return std::nullopt;
  const json& first = pp.at("single")[0];
  if (!first.is_object() || !first.contains("SpecialToken")) return std::nullopt;
  const json& st = first.at("SpecialToken");
  if (!st.is_object() || !st.contains("id") || !st.at("id").is_string()) return std::nullopt;
  auto it = index.find(st.at("id").get<std::string>());
  if (it == index.end()) return std::nullopt;
  return it->second;
}

}  // namespace

Vocab vocab_from_tokenizer_json(const std::string& json_path, const std::string& config_path) {
  const json root = read_json(json_path);
  const Reader rd{json_path};
  if (!root.is_object()) fail_file(json_path, "expected a JSON object at the top level");
  Vocab v;
  v.source = json_path;
  v.pre_name = "tokenizer.json";

  const json& model = rd.need(root, "model", "");
  const std::string mtype = model.contains("type") ? rd.str(model.at("type"), "model.type") : "BPE";
  if (mtype != "BPE")
    fail_field(json_path, "model.type", "unsupported model type '" + mtype + "' (supported: BPE)");

  // Tokens: model.vocab plus added_tokens (which may extend it).
  const json& jv = rd.need(model, "vocab", "model");
  if (!jv.is_object()) fail_field(json_path, "model.vocab", "expected an object {token: id}");
  std::vector<std::pair<int64_t, std::string>> entries;
  int64_t max_id = -1;
  for (auto it = jv.begin(); it != jv.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0)
      fail_field(json_path, "model.vocab", "id of token '" + it.key() + "' is not a non-negative integer");
    entries.emplace_back(it.value().get<int64_t>(), it.key());
    max_id = std::max(max_id, entries.back().first);
  }
  struct Added {
    int64_t id;
    std::string content;
    bool special;
  };
  std::vector<Added> added;
  if (root.contains("added_tokens") && !root.at("added_tokens").is_null()) {
    const json& at = root.at("added_tokens");
    if (!at.is_array()) fail_field(json_path, "added_tokens", "expected an array");
    for (size_t i = 0; i < at.size(); ++i) {
      const std::string f = "added_tokens[" + std::to_string(i) + "]";
      const json& id = rd.need(at[i], "id", f);
      if (!id.is_number_integer() || id.get<int64_t>() < 0) fail_field(json_path, f + ".id", "expected a non-negative integer");
      added.push_back({id.get<int64_t>(), rd.str(rd.need(at[i], "content", f), f + ".content"),
                       rd.flag(at[i], "special", false, f)});
      max_id = std::max(max_id, added.back().id);
    }
  }
  if (max_id < 0) fail_field(json_path, "model.vocab", "empty");
  if (max_id > 100'000'000) fail_field(json_path, "model.vocab", "token id " + std::to_string(max_id) + " is implausibly large");
  // Ids index a table of max_id + 1 entries: a few listed tokens with a huge
  // id would allocate gigabytes of empty slots. Real vocabularies are dense.
  const int64_t listed = static_cast<int64_t>(entries.size() + added.size());
  if (max_id >= 2 * listed + 1024)
    fail_field(json_path, "model.vocab",
               "token id " + std::to_string(max_id) + " leaves most of the id range unused (" + std::to_string(listed) +
                   " tokens listed)");
  v.tokens.assign(max_id + 1, std::string());
  v.kinds.assign(max_id + 1, TokenKind::Unused);
  for (auto& [id, text] : entries) {
    v.tokens[id] = std::move(text);
    v.kinds[id] = TokenKind::Normal;
  }
  for (const auto& a : added) {
    v.tokens[a.id] = a.content;
    v.kinds[a.id] = a.special ? TokenKind::Control : TokenKind::UserDefined;
  }

  // Merges: "a b" strings or [a, b] pairs.
  if (model.contains("merges") && !model.at("merges").is_null()) {
    const json& jm = model.at("merges");
    if (!jm.is_array()) fail_field(json_path, "model.merges", "expected an array");
    v.merges.reserve(jm.size());
    for (size_t i = 0; i < jm.size(); ++i) {
      const json& m = jm[i];
      const std::string f = "model.merges[" + std::to_string(i) + "]";
      if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const size_t sp = s.find(' ', 1);
        if (sp == std::string::npos) fail_field(json_path, f, "expected \"left right\"");
        v.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        v.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      } else {
        fail_field(json_path, f, "expected \"left right\" or [left, right]");
      }
    }
  }
  v.ignore_merges = rd.flag(model, "ignore_merges", false, "model");
  v.byte_fallback = rd.flag(model, "byte_fallback", false, "model");

  PreTokenizerInfo pre;
  parse_pre_tokenizer(rd, member_or_null(root, "pre_tokenizer"), "pre_tokenizer", pre);
  NormalizerInfo norm;
  parse_normalizer(rd, member_or_null(root, "normalizer"), "normalizer", norm);
  const bool byte_level_decoder = root.contains("decoder") && string_member(root.at("decoder"), "type") == "ByteLevel";

  if (pre.byte_level || byte_level_decoder) {
    v.family = VocabFamily::ByteLevelBpe;
    if (pre.metaspace || norm.prepend_marker || norm.replace_space)
      fail_field(json_path, "pre_tokenizer", "mixes byte-level and SentencePiece-style (\xE2\x96\x81) processing");
    v.split_rules = pre.rules;
    v.add_prefix_space = pre.add_prefix_space;
  } else if (v.byte_fallback || pre.metaspace || norm.prepend_marker || norm.replace_space) {
    v.family = VocabFamily::SentencePieceBpe;
    if (!pre.rules.empty())
      fail_field(json_path, "pre_tokenizer", "Split/Digits/Punctuation steps are only supported with ByteLevel");
    v.merge_by_score = false;
    if (pre.metaspace) {
      v.space_prefix = pre.metaspace_prefix;
      v.prefix_unless_leading_space = true;
      v.split_on_space_marker = pre.metaspace_split;
    } else {
      if (!norm.replace_space)
        fail_field(json_path, "normalizer", "a SentencePiece-style tokenizer needs Replace(\" \" -> \"\xE2\x96\x81\")");
      v.space_prefix = norm.prepend_marker ? SpacePrefix::Always : SpacePrefix::Never;
    }
    for (int32_t id = 0; id < v.size(); ++id) {
      const std::string& t = v.tokens[id];
      if (v.kinds[id] == TokenKind::Normal && t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>')
        v.kinds[id] = TokenKind::Byte;
    }
  } else {
    fail_field(json_path, "pre_tokenizer",
               "neither byte-level (a ByteLevel pre-tokenizer) nor SentencePiece-style (byte_fallback, Metaspace, or a "
               "\xE2\x96\x81 normalizer)");
  }

  const TokenIndex index = v.build_index();
  if (model.contains("unk_token") && !model.at("unk_token").is_null()) {
    v.unk_id = special_id(rd, model.at("unk_token"), index, "model.unk_token");
    if (v.kinds[v.unk_id] == TokenKind::Normal) v.kinds[v.unk_id] = TokenKind::Unknown;
  }

  // BOS/EOS and add_bos: tokenizer_config.json first, then the post-processor template.
  const auto tbos = template_bos(member_or_null(root, "post_processor"), index);
  v.bos_id = tbos.value_or(-1);
  v.add_bos = tbos.has_value();
  if (!config_path.empty() && std::filesystem::exists(config_path)) {
    const json cfg = read_json(config_path);
    const Reader crd{config_path};
    if (cfg.contains("bos_token")) v.bos_id = special_id(crd, cfg.at("bos_token"), index, "bos_token");
    if (cfg.contains("eos_token")) v.eos_id = special_id(crd, cfg.at("eos_token"), index, "eos_token");
    v.add_bos = crd.flag(cfg, "add_bos_token", v.add_bos, "");
  }
  if (v.add_bos && v.bos_id < 0) v.add_bos = false;
  v.validate();
  return v;
}

}  // namespace spectra
