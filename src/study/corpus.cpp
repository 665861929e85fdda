// Corpus loading: find the documents of the inputs in a deterministic order,
// read text / JSONL / token-id files, validate, tokenize; bad documents are
// skipped with a warning naming file and byte offset.
#include "study/corpus.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"

namespace spectra::study {
namespace fs = std::filesystem;

namespace {

std::string lower_ext(const fs::path& p) {
  std::string e = p.extension().string();
  for (auto& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

SourceKind kind_of(const fs::path& p) {
  std::string e = lower_ext(p);
  if (e == ".jsonl") return SourceKind::Jsonl;
  if (e == ".tokens") return SourceKind::Tokens;
  return SourceKind::Text;
}

bool is_corpus_name(const fs::path& p) {
  std::string e = lower_ext(p);
  return e == ".txt" || e == ".md" || e == ".jsonl" || e == ".tokens";
}

bool hidden(const fs::path& p) {
  std::string n = p.filename().string();
  return !n.empty() && n[0] == '.';
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_file(path, "cannot open");
  std::string s;
  in.seekg(0, std::ios::end);
  auto size = in.tellg();
  in.seekg(0);
  if (size > 0) {
    s.resize(static_cast<size_t>(size));
    in.read(s.data(), size);
    if (!in) fail_file(path, "read error");
  }
  return s;
}

std::string at(const std::string& path, uint64_t offset) { return path + ": at offset " + std::to_string(offset); }

// Tokens of one text; the tokenizer is fetched lazily.
std::vector<int32_t> tokenize(const std::string& text, const CorpusOptions& opt) {
  if (!opt.tokenizer) throw Error("no tokenizer available for text documents");
  const Tokenizer& tok = opt.tokenizer();
  return tok.encode(text, opt.add_bos && opt.bos_id >= 0);
}

// Parse a .tokens file; returns an error text (with offset) or "".
std::string parse_token_ids(const std::string& data, const std::string& path, const CorpusOptions& opt,
                            std::vector<int32_t>& ids) {
  size_t i = 0, n = data.size();
  while (i < n) {
    while (i < n && std::isspace(static_cast<unsigned char>(data[i]))) ++i;
    if (i >= n) break;
    size_t start = i;
    while (i < n && !std::isspace(static_cast<unsigned char>(data[i]))) ++i;
    int64_t v = 0;
    auto r = std::from_chars(data.data() + start, data.data() + i, v);
    if (r.ec != std::errc() || r.ptr != data.data() + i || v < 0 || v > INT32_MAX) {
      std::string word = data.substr(start, std::min<size_t>(i - start, 32));
      return at(path, start) + ": not a token id: '" + word + "'";
    }
    if (opt.vocab_size > 0 && v >= opt.vocab_size)
      return at(path, start) + ": token id " + std::to_string(v) + " is outside the model's vocabulary (size " +
             std::to_string(opt.vocab_size) + ")";
    ids.push_back(static_cast<int32_t>(v));
  }
  return "";
}

}  // namespace

size_t first_invalid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
    else return i;
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string::npos;
}

std::vector<CorpusFile> list_corpus_files(const std::vector<std::string>& inputs) {
  if (inputs.empty()) throw Error("the corpus is empty: no input paths given (--corpus)");
  std::vector<CorpusFile> out;
  std::set<std::string> seen;
  for (const auto& in : inputs) {
    std::error_code ec;
    fs::path p(in);
    auto st = fs::status(p, ec);
    if (ec || !fs::exists(st)) fail_file(in, "corpus input does not exist");
    std::vector<fs::path> found;
    if (fs::is_directory(st)) {
      fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec), end;
      if (ec) fail_file(in, "cannot list the directory: " + ec.message());
      for (; it != end; it.increment(ec)) {
        if (ec) fail_file(in, "cannot list the directory: " + ec.message());
        const fs::path& e = it->path();
        if (hidden(e)) {
          if (it->is_directory(ec)) it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file(ec) && is_corpus_name(e)) found.push_back(e);
      }
      std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) { return a.string() < b.string(); });
    } else if (fs::is_regular_file(st)) {
      found.push_back(p);
    } else {
      fail_file(in, "corpus input is neither a file nor a directory");
    }
    for (const auto& f : found) {
      std::string key = fs::weakly_canonical(f, ec).string();
      if (!seen.insert(ec ? f.string() : key).second) continue;  // the same file named twice
      out.push_back({f.string(), kind_of(f)});
    }
  }
  return out;
}

Corpus load_corpus(const std::vector<std::string>& inputs, const CorpusOptions& opt) {
  Corpus c;
  auto files = list_corpus_files(inputs);
  c.files = files.size();
  auto add_text_doc = [&](const std::string& text, Document d) {
    d.bytes = text.size();
    d.tokens = tokenize(text, opt);
    size_t min_len = (opt.add_bos && opt.bos_id >= 0) ? 2 : 1;
    if (d.tokens.size() < min_len) {
      c.warnings.push_back(d.source + ": empty document, skipped");
      return;
    }
    c.documents.push_back(std::move(d));
  };
  for (const auto& f : files) {
    std::string data = read_all(f.path);
    switch (f.kind) {
      case SourceKind::Text: {
        size_t off = 0;
        if (data.size() >= 3 && data.compare(0, 3, "\xEF\xBB\xBF") == 0) off = 3;
        size_t bad = first_invalid_utf8(data);
        if (bad != std::string::npos) {
          c.warnings.push_back(at(f.path, bad) + ": invalid UTF-8; document skipped");
          continue;
        }
        Document d;
        d.source = f.path;
        d.path = f.path;
        d.kind = f.kind;
        add_text_doc(off ? data.substr(off) : data, std::move(d));
        break;
      }
      case SourceKind::Jsonl: {
        size_t pos = 0;
        int64_t line_no = 0;
        while (pos < data.size()) {
          size_t nl = data.find('\n', pos);
          size_t end = nl == std::string::npos ? data.size() : nl;
          ++line_no;
          std::string line = data.substr(pos, end - pos);
          uint64_t line_off = pos;
          pos = end + 1;
          if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
          std::string label = f.path + ":" + std::to_string(line_no);
          size_t bad = first_invalid_utf8(line);
          if (bad != std::string::npos) {
            c.warnings.push_back(at(f.path, line_off + bad) + " (line " + std::to_string(line_no) +
                                 "): invalid UTF-8; document skipped");
            continue;
          }
          nlohmann::json j;
          try {
            j = nlohmann::json::parse(line);
          } catch (const nlohmann::json::parse_error& e) {
            c.warnings.push_back(at(f.path, line_off + (e.byte > 0 ? e.byte - 1 : 0)) + " (line " +
                                 std::to_string(line_no) + "): malformed JSON; document skipped");
            continue;
          } catch (const nlohmann::json::exception& e) {  // e.g. a number too large for a double
            c.warnings.push_back(at(f.path, line_off) + " (line " + std::to_string(line_no) + "): malformed JSON (" +
                                 e.what() + "); document skipped");
            continue;
          }
          if (!j.is_object() || !j.contains("text") || !j["text"].is_string()) {
            c.warnings.push_back(at(f.path, line_off) + " (line " + std::to_string(line_no) +
                                 "): no string field 'text'; document skipped");
            continue;
          }
          Document d;
          d.source = label;
          d.path = f.path;
          d.line = line_no;
          d.kind = f.kind;
          add_text_doc(j["text"].get<std::string>(), std::move(d));
        }
        break;
      }
      case SourceKind::Tokens: {
        Document d;
        d.source = f.path;
        d.path = f.path;
        d.kind = f.kind;
        d.bytes = data.size();
        std::string err = parse_token_ids(data, f.path, opt, d.tokens);
        if (!err.empty()) {
          c.warnings.push_back(err + "; document skipped");
          continue;
        }
        if (d.tokens.empty()) {
          c.warnings.push_back(f.path + ": no token ids; document skipped");
          continue;
        }
        if (opt.add_bos && opt.bos_id >= 0 && d.tokens.front() != opt.bos_id) d.tokens.insert(d.tokens.begin(), opt.bos_id);
        c.documents.push_back(std::move(d));
        break;
      }
    }
  }
  if (c.documents.empty()) {
    std::string msg = "the corpus has no usable document (";
    msg += std::to_string(files.size()) + " file" + (files.size() == 1 ? "" : "s") + " found under";
    for (const auto& in : inputs) msg += " " + in;
    msg += ")";
    if (!c.warnings.empty()) msg += "; first problem: " + c.warnings.front();
    throw Error(msg);
  }
  return c;
}

}  // namespace spectra::study
