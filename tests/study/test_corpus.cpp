// Corpus loading and windows: directory recursion and order, JSONL, .tokens,
// invalid UTF-8 reported with its offset and skipped, empty corpus error,
// windows "first"/"all", min_tokens.
#include <gtest/gtest.h>

#include "study/corpus.hpp"
#include "study/windows.hpp"
#include "study_test_util.hpp"
#include "util/error.hpp"

using namespace spectra;
using namespace spectra::study;
namespace fs = std::filesystem;

namespace {

const study_test::ByteTokenizer& byte_tokenizer() {
  static study_test::ByteTokenizer t;
  return t;
}

CorpusOptions byte_options() {
  CorpusOptions o;
  o.tokenizer = [] () -> const Tokenizer& { return byte_tokenizer(); };
  o.add_bos = true;
  o.bos_id = 1;
  o.vocab_size = 259;
  return o;
}

bool has_warning(const std::vector<std::string>& w, const std::string& a, const std::string& b = "") {
  for (const auto& s : w)
    if (s.find(a) != std::string::npos && s.find(b) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST(Corpus, DirectoryRecursionSortedAndFiltered) {
  auto d = study_test::fresh_dir("dir");
  study_test::write_file(d / "b.txt", "bee");
  study_test::write_file(d / "a" / "z.md", "zed");
  study_test::write_file(d / "a" / "deeper" / "c.txt", "see");
  study_test::write_file(d / "ignored.json", "{}");
  study_test::write_file(d / "ignored.py", "x = 1");
  study_test::write_file(d / ".hidden" / "h.txt", "hidden");
  study_test::write_file(d / ".dot.txt", "hidden");
  Corpus c = load_corpus({d.string()}, byte_options());
  ASSERT_EQ(c.documents.size(), 3u);
  EXPECT_EQ(c.documents[0].path, (d / "a" / "deeper" / "c.txt").string());
  EXPECT_EQ(c.documents[1].path, (d / "a" / "z.md").string());
  EXPECT_EQ(c.documents[2].path, (d / "b.txt").string());
  EXPECT_EQ(c.documents[2].tokens, (std::vector<int32_t>{1, 'b' + 3, 'e' + 3, 'e' + 3}));
  EXPECT_TRUE(c.warnings.empty());
  // An explicit file of any name is read as text; the same file twice counts once.
  Corpus c2 = load_corpus({(d / "ignored.py").string(), d.string(), (d / "b.txt").string()}, byte_options());
  ASSERT_EQ(c2.documents.size(), 4u);
  EXPECT_EQ(c2.documents[0].path, (d / "ignored.py").string());
  fs::remove_all(d);
}

TEST(Corpus, Jsonl) {
  auto d = study_test::fresh_dir("jsonl");
  study_test::write_file(d / "docs.jsonl",
                         "{\"text\": \"one\", \"id\": 1}\n"
                         "\n"
                         "{\"title\": \"no text\"}\n"
                         "{\"text\": \"tw\\u00e9\"}\n"
                         "not json\n"
                         "{\"text\": \"last\"}");
  Corpus c = load_corpus({d.string()}, byte_options());
  ASSERT_EQ(c.documents.size(), 3u);
  EXPECT_EQ(c.documents[0].source, (d / "docs.jsonl").string() + ":1");
  EXPECT_EQ(c.documents[0].line, 1);
  EXPECT_EQ(c.documents[1].source, (d / "docs.jsonl").string() + ":4");
  EXPECT_EQ(c.documents[1].tokens.size(), 1u + 4u);  // "twé" is 4 bytes
  EXPECT_EQ(c.documents[2].source, (d / "docs.jsonl").string() + ":6");
  EXPECT_TRUE(has_warning(c.warnings, "line 3", "'text'")) << c.warnings.size();
  EXPECT_TRUE(has_warning(c.warnings, "line 5", "malformed JSON"));
  fs::remove_all(d);
}

TEST(Corpus, TokenFiles) {
  auto d = study_test::fresh_dir("tokens");
  study_test::write_file(d / "a.tokens", "1 5 6\n7\t8\n");
  study_test::write_file(d / "b.tokens", "5 6 7");          // BOS prepended
  study_test::write_file(d / "c.tokens", "5 6 x7 8");       // bad id at offset 4
  study_test::write_file(d / "d.tokens", "5 6 300");        // outside the vocabulary, offset 4
  study_test::write_file(d / "e.tokens", "  \n");           // no ids
  Corpus c = load_corpus({d.string()}, byte_options());
  ASSERT_EQ(c.documents.size(), 2u);
  EXPECT_EQ(c.documents[0].tokens, (std::vector<int32_t>{1, 5, 6, 7, 8}));
  EXPECT_EQ(c.documents[1].tokens, (std::vector<int32_t>{1, 5, 6, 7}));
  EXPECT_TRUE(has_warning(c.warnings, "c.tokens: at offset 4", "x7"));
  EXPECT_TRUE(has_warning(c.warnings, "d.tokens: at offset 4", "vocabulary"));
  EXPECT_TRUE(has_warning(c.warnings, "e.tokens", "no token ids"));
  // Token files need no tokenizer.
  CorpusOptions o = byte_options();
  o.tokenizer = nullptr;
  EXPECT_EQ(load_corpus({(d / "a.tokens").string()}, o).documents.size(), 1u);
  // A model without BOS: ids verbatim.
  o.add_bos = false;
  EXPECT_EQ(load_corpus({(d / "b.tokens").string()}, o).documents[0].tokens, (std::vector<int32_t>{5, 6, 7}));
  fs::remove_all(d);
}

TEST(Corpus, InvalidUtf8ReportedWithOffsetAndSkipped) {
  auto d = study_test::fresh_dir("utf8");
  const std::string bad_text = "good text \xC3\xA9 then bad \xFF here";
  const std::string bad_jsonl = "{\"text\": \"ok\"}\n{\"text\": \"b\xC0\xAF\"}\n";
  study_test::write_file(d / "bad.txt", bad_text);
  study_test::write_file(d / "good.txt", "fine");
  study_test::write_file(d / "bad.jsonl", bad_jsonl);
  Corpus c = load_corpus({d.string()}, byte_options());
  ASSERT_EQ(c.documents.size(), 2u);
  EXPECT_EQ(c.documents[0].source, (d / "bad.jsonl").string() + ":1");
  EXPECT_EQ(c.documents[1].path, (d / "good.txt").string());
  EXPECT_EQ(bad_text.find('\xFF'), 22u);
  EXPECT_TRUE(has_warning(c.warnings, (d / "bad.txt").string() + ": at offset 22", "invalid UTF-8")) << c.warnings[0];
  EXPECT_EQ(bad_jsonl.find('\xC0'), 26u);  // the overlong sequence on line 2
  EXPECT_TRUE(has_warning(c.warnings, (d / "bad.jsonl").string() + ": at offset 26", "invalid UTF-8"));
  fs::remove_all(d);
}

TEST(Corpus, Utf8Validator) {
  EXPECT_EQ(first_invalid_utf8("plain ascii"), std::string::npos);
  EXPECT_EQ(first_invalid_utf8("\xE2\x82\xAC \xF0\x9F\x98\x80"), std::string::npos);
  EXPECT_EQ(first_invalid_utf8("ab\xED\xA0\x80"), 2u);  // surrogate
  EXPECT_EQ(first_invalid_utf8("a\xE0\x80\x80"), 1u);   // overlong
  EXPECT_EQ(first_invalid_utf8("abc\xE2\x82"), 3u);     // truncated
  EXPECT_EQ(first_invalid_utf8("\xF4\x90\x80\x80"), 0u); // above U+10FFFF
}

TEST(Corpus, EmptyCorpusIsAnError) {
  auto d = study_test::fresh_dir("empty");
  EXPECT_THROW(load_corpus({d.string()}, byte_options()), Error);
  study_test::write_file(d / "only.json", "{}");
  EXPECT_THROW(load_corpus({d.string()}, byte_options()), Error);
  study_test::write_file(d / "bad.txt", "\xFF");
  try {
    load_corpus({d.string()}, byte_options());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no usable document"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("invalid UTF-8"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_corpus({(d / "missing").string()}, byte_options()), Error);
  EXPECT_THROW(load_corpus({}, byte_options()), Error);
  fs::remove_all(d);
}

TEST(Windows, FirstWindowAndShortDocuments) {
  std::vector<Document> docs(3);
  docs[0].source = "long";
  for (int i = 0; i < 50; ++i) docs[0].tokens.push_back(i == 0 ? 1 : 10 + i);
  docs[1].source = "short";
  docs[1].tokens = {1, 5, 6, 7, 8, 9};
  docs[2].source = "tiny";
  docs[2].tokens = {1, 5};
  WindowOptions o;
  o.context = 16;
  o.min_positions = 3;
  o.bos_id = 1;
  WindowPlan p = make_windows(docs, o);
  ASSERT_EQ(p.windows.size(), 2u);
  EXPECT_EQ(p.windows[0].tokens.size(), 16u);
  EXPECT_EQ(p.windows[0].tokens[0], 1);
  EXPECT_EQ(p.windows[0].tokens[15], 10 + 15);
  EXPECT_EQ(p.windows[1].source, "short");
  EXPECT_EQ(p.windows[1].tokens.size(), 6u);
  EXPECT_EQ(p.total_tokens, 22);
  EXPECT_TRUE(has_warning(p.warnings, "short", "used as a short window"));
  EXPECT_TRUE(has_warning(p.warnings, "tiny", "skipped"));
  // min_tokens skips the short one.
  o.min_tokens = 10;
  p = make_windows(docs, o);
  ASSERT_EQ(p.windows.size(), 1u);
  EXPECT_TRUE(has_warning(p.warnings, "short", "min_tokens"));
  // Nothing left: error.
  o.min_tokens = 16;
  o.context = 16;
  std::vector<Document> only_short{docs[1]};
  EXPECT_THROW(make_windows(only_short, o), Error);
}

TEST(Windows, AllWindowsRestartWithBos) {
  std::vector<Document> docs(2);
  docs[0].source = "d";
  docs[0].tokens.push_back(1);
  for (int i = 1; i <= 40; ++i) docs[0].tokens.push_back(100 + i);  // 40 body tokens
  docs[1].source = "e";
  docs[1].tokens = {1, 7, 8, 9, 10};
  WindowOptions o;
  o.context = 11;  // 10 body tokens + BOS per window
  o.mode = WindowMode::All;
  o.bos_id = 1;
  WindowPlan p = make_windows(docs, o);
  ASSERT_EQ(p.windows.size(), 5u);  // 4 full windows of d, one short of e
  for (int w = 0; w < 4; ++w) {
    const auto& win = p.windows[w];
    EXPECT_EQ(win.document, 0);
    EXPECT_EQ(win.index, w);
    ASSERT_EQ(win.tokens.size(), 11u);
    EXPECT_EQ(win.tokens[0], 1);
    EXPECT_EQ(win.tokens[1], 100 + 1 + 10 * w);
    EXPECT_EQ(win.start, 1 + 10 * w);
  }
  EXPECT_EQ(p.windows[1].source, "d#w1");
  EXPECT_EQ(p.windows[4].source, "e");
  EXPECT_EQ(p.windows[4].tokens.size(), 5u);
  // Without BOS: plain chunks; the 40-token remainder logic drops the tail.
  docs[0].tokens.erase(docs[0].tokens.begin());
  o.bos_id = -1;
  p = make_windows({docs[0]}, o);
  ASSERT_EQ(p.windows.size(), 3u);  // 40 / 11 = 3 full windows, tail of 7 dropped
  EXPECT_EQ(p.windows[2].tokens.front(), 100 + 23);
}
