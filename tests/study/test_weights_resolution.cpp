// The study's weights mode (study_plan.hpp): "auto" resolved by the rule for
// the plan's longest window, kept from study.json on resume/join; the
// fingerprint holds the resolved mode (only when resident: absent means
// streaming, as in run folders made before the key), never the requested one.
#include <gtest/gtest.h>

#include <algorithm>

#include "resume_test_util.hpp"
#include "study/study_plan.hpp"
#include "util/error.hpp"

using namespace spectra;
using namespace spectra::study;
using namespace spectra::study_test;
namespace fs = std::filesystem;

namespace {

engine::MemInfo mem(uint64_t bytes) {
  engine::MemInfo m;
  m.ok = true;
  m.available_bytes = bytes;
  return m;
}

struct SmallPlan {
  fs::path dir;
  StudyPlan plan;
  explicit SmallPlan(const std::string& weights) {
    dir = fresh_dir("weights_plan");
    StudyConfig c;
    c.model = kStoriesGguf;
    c.corpus = {make_small_corpus(dir).string()};
    c.out = (dir / "run").string();
    c.context = 128;
    c.precision = "fp32";
    c.threads = 1;
    c.weights = weights;
    auto quiet = [](const std::string&) {};
    plan = plan_study(c, quiet, quiet);
  }
  ~SmallPlan() { fs::remove_all(dir); }
};

bool has_line(const std::vector<std::string>& v, const std::string& part) {
  return std::any_of(v.begin(), v.end(), [&](const std::string& s) { return s.find(part) != std::string::npos; });
}

}  // namespace

TEST(StudyWeights, AutoFollowsTheRuleForTheLongestWindow) {
  SmallPlan p("auto");
  const uint64_t converted = engine::converted_weight_bytes(*p.plan.model, false);
  const uint64_t window = engine::window_activation_bytes(p.plan.model->desc(), 128, 4096, 1, true, false);
  // At the boundary of 2 x converted + window <= MemAvailable.
  auto d = resolve_weights(p.plan, "", mem(2 * converted + window));
  EXPECT_EQ(d.mode, engine::WeightsMode::Resident) << d.reason;
  EXPECT_EQ(d.converted_bytes, converted);
  EXPECT_EQ(d.window_bytes, window);
  d = resolve_weights(p.plan, "", mem(2 * converted + window - 1));
  EXPECT_EQ(d.mode, engine::WeightsMode::Streaming) << d.reason;
  // Unknown memory: streaming, saying why.
  d = resolve_weights(p.plan, "", engine::parse_meminfo("MemFree: 5 kB\n"));
  EXPECT_EQ(d.mode, engine::WeightsMode::Streaming);
  EXPECT_NE(d.reason.find("no MemAvailable line"), std::string::npos) << d.reason;
}

TEST(StudyWeights, AutoKeepsWhatTheRunFolderRecorded) {
  SmallPlan p("auto");
  // Resident when the folder was created; now the memory would say streaming: kept, and said.
  auto d = resolve_weights(p.plan, "resident", mem(1));
  EXPECT_EQ(d.mode, engine::WeightsMode::Resident);
  EXPECT_NE(d.reason.find("kept"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("now it would resolve to streaming"), std::string::npos) << d.reason;
  d = resolve_weights(p.plan, "streaming", mem(uint64_t{1} << 50));
  EXPECT_EQ(d.mode, engine::WeightsMode::Streaming) << d.reason;
  // An explicit mode is what it says (a mismatch with the folder is the fingerprint's to refuse).
  SmallPlan q("streaming");
  EXPECT_EQ(resolve_weights(q.plan, "resident", mem(uint64_t{1} << 50)).mode, engine::WeightsMode::Streaming);
  SmallPlan r("resident");
  EXPECT_EQ(resolve_weights(r.plan, "streaming", mem(1)).mode, engine::WeightsMode::Resident);
}

TEST(StudyWeights, FingerprintHoldsTheResolvedModeOnly) {
  SmallPlan p("auto");
  p.plan.weights.mode = engine::WeightsMode::Streaming;
  const auto streaming = plan_fingerprint(p.plan);
  EXPECT_FALSE(streaming.contains("weights")) << "streaming must keep older run folders' fingerprints";
  EXPECT_EQ(streaming.value("config", "").find("weights = "), std::string::npos) << streaming.value("config", "");
  // The requested value changes nothing.
  p.plan.config.weights = "streaming";
  EXPECT_EQ(plan_fingerprint(p.plan), streaming);
  p.plan.config.weights = "resident";
  EXPECT_EQ(plan_fingerprint(p.plan), streaming);
  // The resolved one does.
  p.plan.weights.mode = engine::WeightsMode::Resident;
  const auto resident = plan_fingerprint(p.plan);
  EXPECT_EQ(resident.value("weights", ""), "resident");
  auto diffs = fingerprint_differences(streaming, resident);
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_NE(diffs[0].find("weights: the windows were measured with streaming weights, this run would use resident"),
            std::string::npos)
      << diffs[0];
  diffs = fingerprint_differences(resident, streaming);
  EXPECT_TRUE(has_line(diffs, "measured with resident weights, this run would use streaming"));
  EXPECT_TRUE(fingerprint_differences(resident, resident).empty());
}
