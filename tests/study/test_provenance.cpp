// Provenance (SHA-256 through OpenSSL, the model's files and hashes, the tool)
// and the progress display (plain lines off a terminal, a redrawn bar on one).
#include <gtest/gtest.h>

#include <cstdio>

#include "study/progress.hpp"
#include "study/provenance.hpp"
#include "study_test_util.hpp"
#include "util/error.hpp"

using namespace spectra::study;
namespace fs = std::filesystem;

TEST(Provenance, Sha256KnownAnswers) {
  EXPECT_EQ(sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto d = spectra::study_test::fresh_dir("sha");
  spectra::study_test::write_file(d / "f", "abc");
  EXPECT_EQ(sha256_file((d / "f").string()), sha256_hex("abc", 3));
  EXPECT_THROW(sha256_file((d / "missing").string()), spectra::Error);
  fs::remove_all(d);
}

TEST(Provenance, GgufMetadataAndWholeFile) {
  const std::string path = std::string(SPECTRA_SHARED_DIR) + "/models/stories260k.gguf";
  auto j = model_provenance(path);
  EXPECT_EQ(j["format"], "gguf");
  ASSERT_EQ(j["files"].size(), 1u);
  const auto& f = j["files"][0];
  EXPECT_EQ(f["bytes"], fs::file_size(path));
  EXPECT_GT(f["metadata_bytes"].get<uint64_t>(), 0u);
  EXPECT_LT(f["metadata_bytes"].get<uint64_t>(), fs::file_size(path));
  EXPECT_EQ(f["sha256"], sha256_file(path));  // small file: hashed whole
  EXPECT_NE(f["metadata_sha256"], f["sha256"]);
  EXPECT_FALSE(f["mtime"].get<std::string>().empty());
  EXPECT_TRUE(j.contains("hash_policy"));
}

TEST(Provenance, HfFolderHashesConfigAndHeaders) {
  const std::string dir = std::string(SPECTRA_SHARED_DIR) + "/models/stories260k";
  auto j = model_provenance(dir);
  EXPECT_EQ(j["format"], "safetensors");
  bool config = false, weights = false;
  for (const auto& f : j["files"]) {
    if (f["name"] == "config.json") {
      config = true;
      EXPECT_EQ(f["sha256"], sha256_file(dir + "/config.json"));
    }
    if (f["name"] == "model.safetensors") {
      weights = true;
      EXPECT_FALSE(f.contains("sha256"));  // tensor data is not hashed
      EXPECT_EQ(f["header_sha256"].get<std::string>().size(), 64u);
      EXPECT_EQ(f["bytes"], fs::file_size(dir + "/model.safetensors"));
    }
  }
  EXPECT_TRUE(config);
  EXPECT_TRUE(weights);
  auto t = tool_provenance();
  EXPECT_TRUE(t.contains("version"));
  EXPECT_TRUE(t.contains("git_commit"));
}

TEST(Progress, LinesAndBar) {
  EXPECT_EQ(Progress::format_duration(62), "1:02");
  EXPECT_EQ(Progress::format_duration(3723), "1:02:03");
  EXPECT_EQ(Progress::format_duration(-1), "--");
  FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p(2, 300, ProgressStyle::Lines, f);
    EXPECT_EQ(p.style(), ProgressStyle::Lines);
    p.start(0, "doc-a", 100);
    p.update(50);
    p.finish_window();
    p.start(1, "doc-b", 200);
    p.finish_window();
    p.done();
  }
  std::rewind(f);
  std::string text;
  char buf[512];
  while (std::fgets(buf, sizeof buf, f)) text += buf;
  EXPECT_NE(text.find("window 1/2 done: doc-a, 100 tokens"), std::string::npos) << text;
  EXPECT_NE(text.find("window 2/2 done: doc-b, 200 tokens"), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
  std::fclose(f);

  f = std::tmpfile();
  {
    Progress p(1, 100, ProgressStyle::Bar, f);
    p.start(0, "doc", 100);
    p.update(50);
    p.finish_window();
    p.done();
  }
  std::rewind(f);
  text.clear();
  while (std::fgets(buf, sizeof buf, f)) text += buf;
  EXPECT_NE(text.find('\r'), std::string::npos);
  EXPECT_NE(text.find("100%"), std::string::npos) << text;
  EXPECT_NE(text.find("ETA"), std::string::npos) << text;
  std::fclose(f);
  // Auto off a terminal: lines.
  f = std::tmpfile();
  EXPECT_EQ(Progress(1, 1, ProgressStyle::Auto, f).style(), ProgressStyle::Lines);
  std::fclose(f);
}
