// Regex pre-tokenization with PCRE2 (JIT when available) and the table of
// llama.cpp pre-tokenizer names.
#include "tokenizer/pretokenizer.hpp"

#include <pcre2.h>

#include <map>

#include "tokenizer/utf8.hpp"
#include "util/error.hpp"

namespace spectra {

const char* const kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// llama.cpp's spelling of the Llama-3 regex: (?i:...) written out as [sS] etc.,
// so that Unicode case folding (e.g. U+017F) does not widen the contractions.
const char* const kLlama3Regex =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

namespace {

const char* const kQwen2Regex =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kGpt4oRegex =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kTekkenRegex =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kBloomRegex = R"( ?[^(\s|.,!?…。，、।۔،)]+)";
const char* const kCjkRun = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+";

struct PreSpec {
  std::vector<const char*> regexes;
  bool ignore_merges = false;
  bool add_bos = false;
};

const std::map<std::string, PreSpec>& pre_table() {
  static const std::map<std::string, PreSpec> table = [] {
    std::map<std::string, PreSpec> t;
    auto add = [&](std::initializer_list<const char*> names, PreSpec spec) {
      for (const char* n : names) t[n] = spec;
    };
    add({"default"},
        {{R"([\p{P}\$\+<=>\^~\|]+)", kGpt2Regex, R"(\p{N}+)", "[0-9][0-9][0-9]"}});
    add({"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral"}, {{kLlama3Regex}, true, true});
    add({"dbrx", "smaug-bpe", "chatglm-bpe"}, {{kLlama3Regex}});
    add({"deepseek-coder"}, {{"[\r\n]", R"(\s?\p{L}+)", R"(\s?\p{P}+)", kCjkRun, R"(\p{N})"}});
    add({"deepseek-v3"},
        {{R"(\p{N}{1,3})", "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
          R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}});
    add({"falcon"}, {{R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2Regex, "[0-9][0-9][0-9]"}});
    add({"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"},
        {{R"(\p{N})", kGpt2Regex}});
    add({"gpt-2", "phi-2", "mpt", "olmo", "jais", "jina-es", "jina-de", "jina-v1-en", "jina-v2-es", "jina-v2-de",
         "jina-v2-code", "roberta-bpe", "gigachat"},
        {{kGpt2Regex}});
    add({"qwen2", "stablelm2", "deepseek-r1-qwen"}, {{kQwen2Regex}});
    add({"poro-chat", "bloom", "gpt3-finnish"}, {{kBloomRegex}});
    add({"viking"}, {{kBloomRegex, R"(\p{N})"}});
    add({"tekken"}, {{kTekkenRegex}, true, true});
    add({"gpt-4o"}, {{kGpt4oRegex}});
    return t;
  }();
  return table;
}

}  // namespace

std::string supported_pre_names() {
  std::string s;
  for (const auto& [name, spec] : pre_table()) s += (s.empty() ? "" : ", ") + name;
  return s;
}

std::vector<SplitRule> split_rules_for_pre(const std::string& pre, const std::string& source) {
  auto it = pre_table().find(pre);
  if (it == pre_table().end()) {
    fail_field(source, "tokenizer.ggml.pre",
               "unsupported pre-tokenizer '" + pre + "' (supported: " + supported_pre_names() + ")");
  }
  std::vector<SplitRule> rules;
  for (const char* re : it->second.regexes) rules.push_back({re, SplitBehavior::Isolated, false});
  return rules;
}

bool pre_ignores_merges(const std::string& pre) {
  auto it = pre_table().find(pre);
  return it != pre_table().end() && it->second.ignore_merges;
}

bool pre_adds_bos_by_default(const std::string& pre) {
  auto it = pre_table().find(pre);
  return it != pre_table().end() && it->second.add_bos;
}

// ---------------------------------------------------------------------------

struct PreTokenizer::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

PreTokenizer::PreTokenizer(std::vector<SplitRule> rules, const std::string& source) : rules_(std::move(rules)) {
  for (const auto& rule : rules_) {
    int err = 0;
    PCRE2_SIZE err_off = 0;
    auto c = std::make_unique<Compiled>();
    c->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(rule.pattern.data()), rule.pattern.size(),
                            PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &err_off, nullptr);
    if (!c->code) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      fail_file(source, "pre-tokenizer regex '" + rule.pattern + "' does not compile at offset " +
                            std::to_string(err_off) + ": " + reinterpret_cast<const char*>(msg));
    }
    pcre2_jit_compile(c->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
    compiled_.push_back(std::move(c));
  }
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

namespace {

struct Segment {
  size_t begin, end;
  bool matched;
};

// Matches of `code` in `piece` as a cover of the piece by matched/unmatched
// segments (empty matches are dropped, as HF does).
void segment(pcre2_code* code, pcre2_match_data* md, std::string_view piece, std::vector<Segment>& segs) {
  segs.clear();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
  size_t pos = 0, prev = 0;
  while (pos <= piece.size()) {
    const int rc = pcre2_match(code, subject, piece.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      throw Error(std::string("pre-tokenizer regex failed: ") + reinterpret_cast<const char*>(msg));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const size_t b = ov[0], e = ov[1];
    if (e == b) {  // empty match: step over one character
      if (b >= piece.size()) break;
      pos = b + utf8::sequence_length(static_cast<uint8_t>(piece[b]));
      continue;
    }
    if (b > prev) segs.push_back({prev, b, false});
    segs.push_back({b, e, true});
    prev = pos = e;
  }
  if (prev < piece.size()) segs.push_back({prev, piece.size(), false});
}

void apply(const SplitRule& rule, const std::vector<Segment>& segs, std::string_view piece,
           std::vector<std::string_view>& out) {
  auto view = [&](size_t b, size_t e) { return piece.substr(b, e - b); };
  switch (rule.behavior) {
    case SplitBehavior::Isolated:
      for (const auto& s : segs) out.push_back(view(s.begin, s.end));
      break;
    case SplitBehavior::Removed:
      for (const auto& s : segs)
        if (!s.matched) out.push_back(view(s.begin, s.end));
      break;
    case SplitBehavior::Contiguous: {
      // Neighbouring segments of the same kind become one piece.
      size_t i = 0;
      while (i < segs.size()) {
        size_t j = i + 1;
        while (j < segs.size() && segs[j].matched == segs[i].matched) ++j;
        out.push_back(view(segs[i].begin, segs[j - 1].end));
        i = j;
      }
      break;
    }
    case SplitBehavior::MergedWithPrevious: {
      // A match joins the piece before it, unless that piece is a match too.
      std::vector<std::pair<size_t, size_t>> pieces;
      bool prev_matched = false;
      for (const auto& s : segs) {
        if (s.matched && !prev_matched && !pieces.empty()) pieces.back().second = s.end;
        else pieces.emplace_back(s.begin, s.end);
        prev_matched = s.matched;
      }
      for (const auto& [b, e] : pieces) out.push_back(view(b, e));
      break;
    }
    case SplitBehavior::MergedWithNext: {
      // Mirror image: a match joins the piece after it, unless that is a match.
      std::vector<std::pair<size_t, size_t>> pieces;
      bool next_matched = false;
      for (auto it = segs.rbegin(); it != segs.rend(); ++it) {
        if (it->matched && !next_matched && !pieces.empty()) pieces.back().first = it->begin;
        else pieces.emplace_back(it->begin, it->end);
        next_matched = it->matched;
      }
      for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) out.push_back(view(it->first, it->second));
      break;
    }
  }
}

}  // namespace

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& out) const {
  if (text.empty()) return;
  std::vector<std::string_view> cur{text}, next;
  std::vector<Segment> segs;
  for (size_t r = 0; r < rules_.size(); ++r) {
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(compiled_[r]->code, nullptr);
    try {
      next.clear();
      for (std::string_view piece : cur) {
        segment(compiled_[r]->code, md, piece, segs);
        if (rules_[r].invert)
          for (auto& s : segs) s.matched = !s.matched;
        apply(rules_[r], segs, piece, next);
      }
    } catch (...) {
      pcre2_match_data_free(md);
      throw;
    }
    pcre2_match_data_free(md);
    cur.swap(next);
  }
  out.insert(out.end(), cur.begin(), cur.end());
}

}  // namespace spectra
