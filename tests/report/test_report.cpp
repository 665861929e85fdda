// Tests of src/report on a synthetic finished run (make_run.py) with one
// planted strong negative head (L2 H4) and a moderate positive one (L1 H1):
// figures exist and are valid, the heatmap PNG shows the planted heads at
// the right cells, report.md opens with the decision and criteria, a missing
// column fails naming file and column, `spectra report` reproduces the same
// report.md and report.html, and the HTML works in headless chromium.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "report/figures.hpp"
#include "report/report.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;
using spectra::report::HeatmapLayout;

namespace {

constexpr int kLayers = 4, kHeads = 6, kDocs = 3;
constexpr int kStrongL = 2, kStrongH = 4, kPosL = 1, kPosH = 1;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a shell command, returns its exit status and stdout.
int run(const std::string& cmd, std::string* out = nullptr) {
  std::string full = cmd + " 2>&1";
  FILE* f = ::popen(full.c_str(), "r");
  if (!f) return -1;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  int status = ::pclose(f);
  if (out) *out = text;
  else if (status != 0) std::fprintf(stderr, "%s\n", text.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string q(const std::string& s) { return "'" + s + "'"; }

fs::path test_root() { return fs::path(SPECTRA_BINARY_DIR) / "tests" / "report"; }

fs::path make_run(const std::string& name, const std::string& extra = "") {
  const fs::path dir = test_root() / name;
  fs::remove_all(dir);
  fs::create_directories(dir.parent_path());
  const std::string cmd = q(SPECTRA_PYTHON) + " " + q(std::string(SPECTRA_REPORT_TEST_DIR) + "/make_run.py") + " " +
                          q(dir.string()) + " --layers " + std::to_string(kLayers) + " --heads " +
                          std::to_string(kHeads) + " --docs " + std::to_string(kDocs) + " --strong " +
                          std::to_string(kStrongL) + "," + std::to_string(kStrongH) + " --positive " +
                          std::to_string(kPosL) + "," + std::to_string(kPosH) + " " + extra;
  EXPECT_EQ(run(cmd), 0) << cmd;
  return dir;
}

class ReportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // One folder per process: ctest runs these tests in parallel processes.
    dir_ = new fs::path(make_run("run_synthetic_" + std::to_string(::getpid())));
    spectra::report::ReportOptions opt;
    opt.quiet = true;
    spectra::report::write_report(dir_->string(), opt);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static fs::path* dir_;
};
fs::path* ReportTest::dir_ = nullptr;

const std::vector<std::string> kFigures = {
    "heatmap_pearson_r", "heatmap_partial_r",  "layer_profile",        "null_distributions", "reproducibility",
    "hist_qnorm_entropy", "hist_qnorm_by_layer", "hist_entropy_by_layer", "scatter_L2_H4",      "scatter_L1_H1"};

// Big-endian u32 at offset.
uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) | (uint32_t(uint8_t(s[at + 2])) << 8) |
         uint32_t(uint8_t(s[at + 3]));
}

}  // namespace

TEST_F(ReportTest, FiguresExistAsValidPngAndSvg) {
  for (const auto& name : kFigures) {
    const fs::path png = *dir_ / "figures" / (name + ".png"), svg = *dir_ / "figures" / (name + ".svg");
    ASSERT_TRUE(fs::exists(png)) << png;
    ASSERT_TRUE(fs::exists(svg)) << svg;
    const std::string p = slurp(png);
    ASSERT_GT(p.size(), 10000u) << png;
    EXPECT_EQ(p.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << png;
    EXPECT_EQ(p.substr(12, 4), "IHDR") << png;
    const uint32_t w = be32(p, 16), h = be32(p, 20);
    EXPECT_GE(w, 1000u) << png << ": readable at paper size needs ≥ 1000 px";
    EXPECT_GE(h, 500u) << png;
    EXPECT_LE(w, 4000u) << png;
    const std::string s = slurp(svg);
    EXPECT_GT(s.size(), 5000u) << svg;
    EXPECT_NE(s.find("<svg"), std::string::npos) << svg;
    EXPECT_NE(s.find("</svg>"), std::string::npos) << svg;
  }
  // No partial or work files left behind.
  for (const auto& e : fs::directory_iterator(*dir_ / "figures"))
    EXPECT_TRUE(e.path().extension() == ".png" || e.path().extension() == ".svg") << e.path();
}

TEST_F(ReportTest, HeatmapPixelsShowThePlantedHeads) {
  const fs::path png = *dir_ / "figures" / "heatmap_pearson_r.png";
  const int W = 2 * HeatmapLayout::width(), H = 2 * HeatmapLayout::height(kLayers, kHeads);
  auto pixel_of = [&](int layer, int head) {
    const double fx = HeatmapLayout::left + (head + 0.5) / kHeads * (HeatmapLayout::right - HeatmapLayout::left);
    // Sample a quarter-cell off centre: the pass ring sits at the centre.
    const double fy = HeatmapLayout::bottom + (layer + 0.25) / kLayers * (HeatmapLayout::top - HeatmapLayout::bottom);
    return std::to_string(int(fx * W)) + "," + std::to_string(int((1 - fy) * H));
  };
  std::string cmd = q(SPECTRA_PYTHON) + " " + q(std::string(SPECTRA_REPORT_TEST_DIR) + "/png_pixels.py") + " " + q(png.string());
  for (int l = 0; l < kLayers; ++l)
    for (int h = 0; h < kHeads; ++h) cmd += " " + pixel_of(l, h);
  std::string out;
  ASSERT_EQ(run(cmd, &out), 0) << out;
  std::istringstream in(out);
  int w = 0, hh = 0;
  in >> w >> hh;
  ASSERT_EQ(w, W);
  ASSERT_EQ(hh, H);
  for (int l = 0; l < kLayers; ++l)
    for (int h = 0; h < kHeads; ++h) {
      int r, g, b;
      in >> r >> g >> b;
      SCOPED_TRACE("layer " + std::to_string(l) + " head " + std::to_string(h) + ": rgb " + std::to_string(r) + "," +
                   std::to_string(g) + "," + std::to_string(b));
      if (l == kStrongL && h == kStrongH) {
        EXPECT_GT(b, r + 80);  // strong negative: deep blue
        EXPECT_LT(r, 120);
      } else if (l == kPosL && h == kPosH) {
        EXPECT_GT(r, b + 60);  // positive: red
      } else {
        EXPECT_GT(std::min({r, g, b}), 200);  // near zero: near white
      }
    }
}

TEST_F(ReportTest, MarkdownOpensWithDecisionAndCriteria) {
  const std::string md = slurp(*dir_ / "report.md");
  const auto decision = md.find("## Decision: **");
  ASSERT_NE(decision, std::string::npos);
  EXPECT_LT(decision, md.find("## Interpretation"));
  EXPECT_NE(md.find("| criterion | measured | threshold | verdict |"), std::string::npos);
  EXPECT_NE(md.find("meaningful_subset"), std::string::npos);
  // The interpretation names the planted head first among the strongest, with its CI.
  const auto strongest = md.find("### Strongest heads");
  ASSERT_NE(strongest, std::string::npos);
  EXPECT_EQ(md.find("**L2 H4**: r = -0.", strongest), md.find("- **", strongest) + 2);
  EXPECT_NE(md.find("95% CI"), std::string::npos);
  for (const char* s : {"### Layer by layer", "### Null controls", "### Consistency across documents", "### Caveats",
                        "Attention sinks", "Token dependence", "## Methods and provenance", "sha256", "min_position"})
    EXPECT_NE(md.find(s), std::string::npos) << s;
  for (const auto& name : kFigures) EXPECT_NE(md.find("figures/" + name + ".png"), std::string::npos) << name;
}

TEST_F(ReportTest, HtmlIsSelfContained) {
  const std::string html = slurp(*dir_ / "report.html");
  EXPECT_LT(html.size(), 8u << 20);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_NE(html.find("Content-Security-Policy"), std::string::npos);
  EXPECT_NE(html.find("data:image/png;base64,"), std::string::npos);
}

TEST_F(ReportTest, SpectraReportReproducesTheSameReport) {
  const std::string md = slurp(*dir_ / "report.md"), html = slurp(*dir_ / "report.html");
  const std::string heat = slurp(*dir_ / "figures" / "heatmap_pearson_r.svg");
  std::string out;
  ASSERT_EQ(run(q(SPECTRA_EXE) + " report --quiet " + q(dir_->string()), &out), 0) << out;
  EXPECT_TRUE(slurp(*dir_ / "report.md") == md) << "report.md differs after `spectra report`";
  EXPECT_TRUE(slurp(*dir_ / "report.html") == html) << "report.html differs after `spectra report`";
  EXPECT_TRUE(slurp(*dir_ / "figures" / "heatmap_pearson_r.svg") == heat);
}

TEST_F(ReportTest, BrowserShowsHeatmapHoverAndClick) {
  const fs::path shot = test_root() / "report_screenshot.png";
  fs::remove(shot);
  std::string out;
  const std::string cmd = q(SPECTRA_PYTHON) + " " + q(std::string(SPECTRA_REPORT_TEST_DIR) + "/browser_check.py") + " " +
                          q((*dir_ / "report.html").string()) + " " + q(shot.string()) + " " + std::to_string(kLayers) +
                          " " + std::to_string(kHeads) + " " + std::to_string(kStrongL) + "," + std::to_string(kStrongH) +
                          " " + std::to_string(kPosL) + "," + std::to_string(kPosH) + " " + std::to_string(kDocs);
  EXPECT_EQ(run(cmd, &out), 0) << out;
  EXPECT_TRUE(fs::exists(shot)) << "screenshot artifact " << shot;
}

TEST(ReportErrors, MissingColumnNamesFileAndColumn) {
  const fs::path dir = make_run("run_missing_column");
  std::string csv = slurp(dir / "heads.csv");
  const auto p = csv.find(",partial_r,");
  ASSERT_NE(p, std::string::npos);
  csv.replace(p, 11, ",partial_rr,");
  std::ofstream(dir / "heads.csv", std::ios::binary) << csv;
  spectra::report::ReportOptions opt;
  opt.quiet = true;
  try {
    spectra::report::write_report(dir.string(), opt);
    FAIL() << "expected an error";
  } catch (const spectra::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("heads.csv"), std::string::npos) << what;
    EXPECT_NE(what.find("'partial_r'"), std::string::npos) << what;
  }
  EXPECT_FALSE(fs::exists(dir / "report.md"));
}

TEST(ReportErrors, NotARunFolder) {
  const fs::path dir = test_root() / "empty_dir";
  fs::create_directories(dir);
  std::string out;
  EXPECT_NE(run(q(SPECTRA_EXE) + " report " + q(dir.string()), &out), 0);
  EXPECT_NE(out.find("heads.csv"), std::string::npos) << out;
}

TEST(ReportScale, ManyHeadsKeepHtmlSmall) {
  // 16 layers x 16 heads; the HTML point budget caps each head's sample.
  const fs::path dir = make_run("run_many_heads", "--layers 16 --heads 16 --len 80 --docs 2 --no-head-docs");
  spectra::report::ReportOptions opt;
  opt.quiet = true;
  opt.html_point_budget = 256 * 100;
  spectra::report::write_report(dir.string(), opt);
  const std::string html = slurp(dir / "report.html");
  EXPECT_LT(html.size(), 4u << 20);
  // 256 cells in the heatmap data, and per-head samples of at most 100 points.
  EXPECT_NE(html.find("\"15,15\":[["), std::string::npos);
  std::string out;
  const std::string cmd = q(SPECTRA_PYTHON) + " " + q(std::string(SPECTRA_REPORT_TEST_DIR) + "/browser_check.py") + " " +
                          q((dir / "report.html").string()) + " " + q((test_root() / "report_many_heads.png").string()) +
                          " 16 16 2,4 1,1 2";
  EXPECT_EQ(run(cmd, &out), 0) << out;
}
