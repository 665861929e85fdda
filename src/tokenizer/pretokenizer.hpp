#pragma once
// Regex pre-tokenization for byte-level BPE: a sequence of split rules, each
// applied to every piece the previous rules produced (HF `Split`, llama.cpp's
// regex lists). Regexes are PCRE2 with UTF and Unicode properties (\p{L},
// \p{N}, \s as Unicode white space).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace spectra {

// What happens to the text a rule's regex matches (HF SplitDelimiterBehavior).
enum class SplitBehavior { Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous };

struct SplitRule {
  std::string pattern;
  SplitBehavior behavior = SplitBehavior::Isolated;
  bool invert = false;  // split on what does NOT match
};

class PreTokenizer {
 public:
  // Compiles the rules; a bad regex throws spectra::Error naming `source`.
  PreTokenizer(std::vector<SplitRule> rules, const std::string& source);
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  // Appends the pieces of `text` (valid UTF-8) to `out`; they view into `text`.
  // Thread-safe.
  void split(std::string_view text, std::vector<std::string_view>& out) const;
  const std::vector<SplitRule>& rules() const { return rules_; }

 private:
  struct Compiled;
  std::vector<SplitRule> rules_;
  std::vector<std::unique_ptr<Compiled>> compiled_;
};

// llama.cpp's pre-tokenizer names (GGUF `tokenizer.ggml.pre`) -> split rules.
// Unknown names throw spectra::Error listing the supported ones.
std::vector<SplitRule> split_rules_for_pre(const std::string& pre, const std::string& source);
// Whether llama.cpp uses `ignore_merges` (whole-word lookup first) for that name.
bool pre_ignores_merges(const std::string& pre);
// Whether llama.cpp adds BOS by default for that name (when the GGUF does not say).
bool pre_adds_bos_by_default(const std::string& pre);
std::string supported_pre_names();

// Regexes shared with the tokenizer.json loader.
extern const char* const kGpt2Regex;   // HF ByteLevel(use_regex=true)
extern const char* const kLlama3Regex;

}  // namespace spectra
