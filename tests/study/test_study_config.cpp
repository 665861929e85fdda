// Study configuration: defaults, TOML parsing, flag overrides, unknown keys
// and bad values (with line numbers), round trip through config.toml.
#include <gtest/gtest.h>

#include "study/study_config.hpp"
#include "study_test_util.hpp"
#include "util/error.hpp"

using namespace spectra;
using namespace spectra::study;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(StudyConfig, Defaults) {
  StudyConfig c = parse_study_config("", "empty.toml", "");
  EXPECT_TRUE(c.model.empty());
  EXPECT_TRUE(c.corpus.empty());
  EXPECT_EQ(c.context, 4096);
  EXPECT_EQ(c.windows, WindowMode::First);
  EXPECT_EQ(c.min_tokens, 0);
  EXPECT_EQ(c.precision, "auto");
  EXPECT_EQ(c.threads, 0);
  EXPECT_EQ(c.weights, "auto");
  EXPECT_EQ(c.raw_format, RawFormat::Npy);
  EXPECT_DOUBLE_EQ(c.analysis.r_threshold, 0.5);
  EXPECT_DOUBLE_EQ(c.analysis.alpha, 0.01);
  EXPECT_EQ(c.analysis.min_position, stats::AnalysisConfig{}.min_position);
  EXPECT_EQ(c.analysis.permutations, stats::AnalysisConfig{}.permutations);
  EXPECT_TRUE(c == StudyConfig{});
  EXPECT_NO_THROW(validate(c));
}

TEST(StudyConfig, ParsesEveryKind) {
  const std::string text = R"(# a study
model = "m/model.gguf"
corpus = ["docs", "/abs/more.jsonl"]
context = 256
windows = "all"
min_tokens = 64
precision = "fp32"
threads = 2
weights = "streaming"
raw_format = "csv"

[analysis]
min_position = 4
permutations = 20
seed = 7

[criteria]
r_threshold = 0.4
alpha = 0.05
one_sided = false
direction = "both"
meaningful_fraction = 1
)";
  StudyConfig c = parse_study_config(text, "s.toml", "/base");
  EXPECT_EQ(c.model, "/base/m/model.gguf");
  ASSERT_EQ(c.corpus.size(), 2u);
  EXPECT_EQ(c.corpus[0], "/base/docs");
  EXPECT_EQ(c.corpus[1], "/abs/more.jsonl");
  EXPECT_EQ(c.context, 256);
  EXPECT_EQ(c.windows, WindowMode::All);
  EXPECT_EQ(c.min_tokens, 64);
  EXPECT_EQ(c.precision, "fp32");
  EXPECT_EQ(c.threads, 2);
  EXPECT_EQ(c.weights, "streaming");
  EXPECT_EQ(c.raw_format, RawFormat::Csv);
  EXPECT_EQ(c.analysis.min_position, 4);
  EXPECT_EQ(c.analysis.permutations, 20);
  EXPECT_EQ(c.analysis.seed, 7u);
  EXPECT_DOUBLE_EQ(c.analysis.r_threshold, 0.4);
  EXPECT_DOUBLE_EQ(c.analysis.alpha, 0.05);
  EXPECT_FALSE(c.analysis.one_sided);
  EXPECT_EQ(c.analysis.direction, stats::Direction::Both);
  EXPECT_DOUBLE_EQ(c.analysis.meaningful_fraction, 1.0);  // an integer is accepted for a number
}

TEST(StudyConfig, CorpusMayBeOneString) {
  StudyConfig c = parse_study_config("corpus = \"x\"\n", "s.toml", "/b");
  ASSERT_EQ(c.corpus.size(), 1u);
  EXPECT_EQ(c.corpus[0], "/b/x");
}

TEST(StudyConfig, UnknownKeyNamesKeyAndLine) {
  std::string e = error_of([] { parse_study_config("context = 128\n\ncontxt = 5\n", "s.toml", ""); });
  EXPECT_NE(e.find("s.toml"), std::string::npos) << e;
  EXPECT_NE(e.find("line 3"), std::string::npos) << e;
  EXPECT_NE(e.find("'contxt'"), std::string::npos) << e;

  e = error_of([] { parse_study_config("[criteria]\nalpha = 0.01\nbogus = 1\n", "s.toml", ""); });
  EXPECT_NE(e.find("line 3"), std::string::npos) << e;
  EXPECT_NE(e.find("'criteria.bogus'"), std::string::npos) << e;

  e = error_of([] { parse_study_config("context = 64\n[nope]\nx = 1\n", "s.toml", ""); });
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown table [nope]"), std::string::npos) << e;
}

TEST(StudyConfig, BadValuesNameKeyAndLine) {
  struct Case {
    std::string text, key;
    int line;
  };
  for (const auto& c : std::vector<Case>{{"context = \"many\"\n", "context", 1},
                                         {"\ncontext = 1\n", "context", 2},
                                         {"windows = \"some\"\n", "windows", 1},
                                         {"precision = \"fp8\"\n", "precision", 1},
                                         {"threads = -1\n", "threads", 1},
                                         {"raw_format = \"parquet\"\n", "raw_format", 1},
                                         {"weights = \"always\"\n", "weights", 1},
                                         {"\n\nweights = \"Resident\"\n", "weights", 3},
                                         {"weights = true\n", "weights", 1},
                                         {"weights = [\"auto\"]\n", "weights", 1},
                                         {"weights = \"\"\n", "weights", 1},
                                         {"budget_mass = 1.0\n", "budget_mass", 1},
                                         {"\nbudget_mass = 0\n", "budget_mass", 2},
                                         {"budget_mass = \"most\"\n", "budget_mass", 1},
                                         {"budget = 1\n", "budget", 1},
                                         {"corpus = [1, 2]\n", "corpus", 1},
                                         {"model = \"\"\n", "model", 1},
                                         {"[analysis]\npermutations = \"ten\"\n", "analysis.permutations", 2},
                                         {"[criteria]\n\nalpha = 2.0\n", "criteria.alpha", 3},
                                         {"[criteria]\nr_threshold = -0.5\n", "criteria.r_threshold", 2},
                                         {"[criteria]\ndirection = \"up\"\n", "criteria.direction", 2},
                                         {"criteria = 3\n", "criteria", 1}}) {
    std::string e = error_of([&] { parse_study_config(c.text, "s.toml", ""); });
    EXPECT_NE(e.find("line " + std::to_string(c.line)), std::string::npos) << c.text << " -> " << e;
    EXPECT_NE(e.find("'" + c.key + "'"), std::string::npos) << c.text << " -> " << e;
  }
}

TEST(StudyConfig, SyntaxErrorNamesLine) {
  std::string e = error_of([] { parse_study_config("context = 12\nmodel = \"x\n", "s.toml", ""); });
  EXPECT_NE(e.find("s.toml"), std::string::npos) << e;
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
}

TEST(StudyConfig, FlagOverrides) {
  StudyConfig c = parse_study_config("context = 256\ncorpus = [\"a\"]\n[criteria]\nalpha = 0.05\n", "s.toml", "/b");
  apply_override(c, "context", "128", "--context");
  apply_override(c, "corpus", "x", "--corpus");
  apply_override(c, "corpus", "y", "--corpus", true);
  apply_override(c, "criteria.alpha", "0.001", "--alpha");
  apply_override(c, "analysis.seed", "99", "--seed");
  apply_override(c, "criteria.one_sided", "false", "--one-sided");
  apply_override(c, "windows", "all", "--windows");
  apply_override(c, "raw_format", "csv", "--raw-format");
  apply_override(c, "budget_mass", "0.75", "--budget-mass");
  apply_override(c, "budget", "false", "--budget");
  apply_override(c, "weights", "resident", "--weights");
  EXPECT_EQ(c.weights, "resident");
  apply_override(c, "weights", " streaming ", "--weights");  // flag text is trimmed, like every key's
  EXPECT_EQ(c.weights, "streaming");
  EXPECT_DOUBLE_EQ(c.budget_mass, 0.75);
  EXPECT_FALSE(c.budget);
  EXPECT_EQ(c.context, 128);
  EXPECT_EQ(c.corpus, (std::vector<std::string>{"x", "y"}));
  EXPECT_DOUBLE_EQ(c.analysis.alpha, 0.001);
  EXPECT_EQ(c.analysis.seed, 99u);
  EXPECT_FALSE(c.analysis.one_sided);
  EXPECT_EQ(c.windows, WindowMode::All);
  EXPECT_EQ(c.raw_format, RawFormat::Csv);
}

TEST(StudyConfig, BadFlagValues) {
  StudyConfig c;
  std::string e = error_of([&] { apply_override(c, "context", "12x", "--context"); });
  EXPECT_NE(e.find("--context"), std::string::npos) << e;
  EXPECT_NE(e.find("12x"), std::string::npos) << e;
  e = error_of([&] { apply_override(c, "criteria.alpha", "1.5", "--alpha"); });
  EXPECT_NE(e.find("--alpha"), std::string::npos) << e;
  e = error_of([&] { apply_override(c, "precision", "fp16", "--precision"); });
  EXPECT_NE(e.find("--precision"), std::string::npos) << e;
  e = error_of([&] { apply_override(c, "budget_mass", "1.2", "--budget-mass"); });
  EXPECT_NE(e.find("--budget-mass"), std::string::npos) << e;
  EXPECT_NE(e.find("0 < P < 1"), std::string::npos) << e;
  e = error_of([&] { apply_override(c, "weights", "always", "--weights"); });
  EXPECT_NE(e.find("--weights: must be one of \"auto\", \"resident\", \"streaming\" (got \"always\")"),
            std::string::npos)
      << e;
  e = error_of([&] { apply_override(c, "weights", "", "--weights"); });
  EXPECT_NE(e.find("--weights: must be one of"), std::string::npos) << e;
  e = error_of([&] { apply_override(c, "criteria.one_sided", "maybe", "--one-sided"); });
  EXPECT_NE(e.find("true or false"), std::string::npos) << e;
  EXPECT_EQ(c, StudyConfig{});  // failed overrides change nothing
}

TEST(StudyConfig, FlagNames) {
  EXPECT_EQ(flag_for_key("min_tokens"), "--min-tokens");
  EXPECT_EQ(flag_for_key("criteria.alpha"), "--alpha");
  EXPECT_EQ(flag_for_key("analysis.min_position"), "--min-position");
  // Every key has a distinct flag, except analysis.threads which --threads sets too.
  std::set<std::string> flags;
  for (const auto& k : config_keys())
    if (k != "analysis.threads") EXPECT_TRUE(flags.insert(flag_for_key(k)).second) << k;
}

TEST(StudyConfig, CrossFieldValidation) {
  StudyConfig c;
  c.context = 64;
  c.min_tokens = 100;
  EXPECT_THROW(validate(c), Error);
  c.min_tokens = 0;
  c.analysis.min_position = 62;
  EXPECT_THROW(validate(c), Error);
  c.analysis.min_position = 61;
  EXPECT_NO_THROW(validate(c));
}

TEST(StudyConfig, TomlRoundTrip) {
  StudyConfig c;
  c.model = "/m/x.gguf";
  c.corpus = {"/c/a", "/c/b \"quoted\""};
  c.out = "/runs/1";
  c.context = 300;
  c.windows = WindowMode::All;
  c.min_tokens = 10;
  c.precision = "bf16";
  c.threads = 3;
  c.weights = "resident";
  c.raw_format = RawFormat::Csv;
  c.budget_mass = 0.8125;
  c.budget = false;
  c.analysis.alpha = 0.0123456789;
  c.analysis.r_threshold = 0.3;
  c.analysis.seed = 123456789012345ull;
  c.analysis.permutations = 17;
  c.analysis.min_position = 5;
  c.analysis.threads = 2;
  std::string text = to_toml(c, {"header line"});
  EXPECT_EQ(text.rfind("# header line\n", 0), 0u);
  StudyConfig back = parse_study_config(text, "config.toml", "/elsewhere");
  EXPECT_TRUE(back == c) << text;
  EXPECT_NE(text.find("weights = \"resident\"\n"), std::string::npos) << text;
  back.weights = "streaming";
  EXPECT_FALSE(back == c);
  // The statistics code reads the same file to the same settings.
  stats::AnalysisConfig a = stats::AnalysisConfig::from_toml_text(text, "config.toml");
  EXPECT_EQ(a.to_json(), c.analysis.to_json());
}

TEST(StudyConfig, LoadFileResolvesRelativeToFile) {
  auto d = study_test::fresh_dir("cfgfile");
  study_test::write_file(d / "sub" / "s.toml", "model = \"../models/m.gguf\"\ncorpus = \"docs\"\n");
  StudyConfig c = load_study_config((d / "sub" / "s.toml").string());
  EXPECT_EQ(c.model, (d / "models" / "m.gguf").string());
  EXPECT_EQ(c.corpus.at(0), (d / "sub" / "docs").string());
  EXPECT_THROW(load_study_config((d / "missing.toml").string()), Error);
  std::filesystem::remove_all(d);
}
