// The default model (SmolLM2-135M-Instruct, Q4_1 GGUF): perplexity of English
// prose is plausible, greedy generation is deterministic and valid; and the
// `spectra measure` command end to end on stories260k.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/forward.hpp"
#include "engine/generate.hpp"
#include "observers/tuple_file.hpp"
#include "observers/tuple_observer.hpp"
#include "tokenizer/tokenizer.hpp"

using namespace spectra;
using namespace spectra::engine;

namespace {

const std::string kModel = std::string(SPECTRA_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";

const char* kProse =
    "The village of Eastbrook lies at the bend of a slow river, where the valley opens into wide fields of "
    "wheat and barley. For most of the year the place is quiet. Farmers rise before dawn to tend their animals, "
    "children walk to the small school beside the church, and in the evening people gather at the inn to talk "
    "about the weather, the price of grain and the news from the town. In the spring, however, everything "
    "changes. Every April the village holds a market that draws visitors from all over the county. Traders set "
    "up their stalls along the main street, selling cheese, bread, honey, wool and tools. Musicians play in the "
    "square, and the old stone bridge is decorated with flowers. The market began more than two hundred years "
    "ago, when a local landowner gave the villagers permission to sell their goods without paying a tax to the "
    "town. Since then it has grown from a handful of tables into one of the largest fairs in the region. Many "
    "families plan their whole year around it. They spend the winter months making things to sell, and they "
    "use the money they earn to repair their houses, buy seed for the next harvest, or save for their children's "
    "education. Historians who have studied the records of the market say that it tells us a great deal about "
    "how rural life has changed. In the early years most of the goods were food and cloth. Later, as roads "
    "improved and the railway arrived, merchants began to bring goods from distant cities, and the villagers "
    "could buy things they had never seen before. Today the market is as much a celebration as a place to do "
    "business, but its purpose remains the same: it brings people together.";

bool have_model() { return std::filesystem::exists(kModel); }

int sh(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST(SmolLM2, PerplexityOfProseIsPlausible) {
  if (!have_model()) GTEST_SKIP() << "default model or loaders missing";
  auto model = open_model(kModel);
  auto tok = load_tokenizer(kModel);
  auto ids = tok->encode(kProse, model->desc().add_bos && tok->bos_id() >= 0);
  ASSERT_GE(ids.size(), 200u);
  Engine eng(*model, {});
  auto r = eng.forward(ids, {});
  const double ppl = r.perplexity();
  std::printf("[smollm2] %zu tokens of prose: perplexity %.3f (%s, %.1f tokens/s)\n", ids.size(), ppl,
              to_string(eng.precision()), ids.size() / r.time.total);
  EXPECT_GT(ppl, 2.0);
  EXPECT_LT(ppl, 40.0);
  // fp32 agrees with bf16 to within a few percent.
  EngineOptions eo;
  eo.precision = Precision::FP32;
  Engine e32(*model, eo);
  const double ppl32 = e32.forward(ids, {}).perplexity();
  std::printf("[smollm2] fp32 perplexity %.3f\n", ppl32);
  EXPECT_NEAR(std::log(ppl), std::log(ppl32), 0.05);
}

TEST(SmolLM2, GenerateIsDeterministicAndValid) {
  if (!have_model()) GTEST_SKIP() << "default model or loaders missing";
  auto model = open_model(kModel);
  auto tok = load_tokenizer(kModel);
  const std::string prompt = "The capital of France is";
  auto ids = tok->encode(prompt, model->desc().add_bos && tok->bos_id() >= 0);
  EngineOptions eo;
  eo.weights = WeightsMode::Resident;
  Engine eng(*model, eo);
  GenerateOptions go;
  go.max_new_tokens = 24;
  auto a = generate_greedy(eng, ids, go);
  auto b = generate_greedy(eng, ids, go);
  EXPECT_EQ(a.tokens, b.tokens);
  ASSERT_FALSE(a.tokens.empty());
  for (auto t : a.tokens) {
    EXPECT_GE(t, 0);
    EXPECT_LT(t, model->desc().vocab);
  }
  // The incremental path agrees with a full prefill of prompt + output.
  std::vector<int32_t> full = ids;
  full.insert(full.end(), a.tokens.begin(), a.tokens.end() - 1);
  ForwardOptions fo;
  fo.keep_logits = true;
  Engine pre(*model, {});
  auto r = pre.forward(full, fo);
  const int64_t V = model->desc().vocab;
  for (size_t i = 0; i + 1 < a.tokens.size(); ++i) {
    const int64_t row = static_cast<int64_t>(ids.size() + i) - 1;
    std::span<const float> lg(r.logits.data() + row * V, V);
    // bf16 rounding may reorder near-ties; require the chosen token to be within 0.5 of the max.
    EXPECT_GE(lg[a.tokens[i]], lg[argmax(lg)] - 0.5f) << "step " << i;
  }
  std::printf("[smollm2] %s|%s  (%.1f tokens/s decode)\n", prompt.c_str(), tok->decode(a.tokens).c_str(),
              a.decode_tokens_per_s());
}

TEST(MeasureCli, WritesTuplesAndSummary) {
  const std::string exe = SPECTRA_EXE;
  if (!std::filesystem::exists(exe)) GTEST_SKIP() << "spectra or loaders not built";
  const std::string out = std::string(SPECTRA_BINARY_DIR) + "/test_measure_out";
  std::filesystem::remove_all(out);
  const std::string model = std::string(SPECTRA_SHARED_DIR) + "/models/stories260k.gguf";
  const std::string toks = std::string(SPECTRA_SHARED_DIR) + "/golden/stories260k/greedy.tokens.txt";
  ASSERT_EQ(sh(exe + " measure --model " + model + " --tokens-file " + toks + " --out " + out +
               " --precision fp32 --threads 2"),
            0);
  TupleReader rd(out + "/tuples.npy");
  ASSERT_EQ(rd.size(), 5u * 8 * 256);
  for (const auto& r : rd.rows()) {
    ASSERT_EQ(r.doc, 0);
    ASSERT_LE(r.entropy, std::log(r.pos + 1.0) + 1e-5);
    ASSERT_GE(r.sink_mass, 0.f);
    ASSERT_LE(r.max_attn, 1.f);
  }
  std::ifstream sf(out + "/summary.json");
  auto s = nlohmann::json::parse(sf);
  EXPECT_EQ(s["tokens"], 256);
  EXPECT_EQ(s["precision"]["used"], "fp32");
  EXPECT_NEAR(s["perplexity"].get<double>(), 2.6668, 0.01);
  EXPECT_GT(s["tokens_per_s"].get<double>(), 0);
  // Refuses to overwrite, unless --force; csv format.
  EXPECT_NE(sh(exe + " measure --model " + model + " --tokens \"1 2 3\" --out " + out + " 2>/dev/null"), 0);
  ASSERT_EQ(sh(exe + " measure --model " + model + " --tokens \"1 5 9 300\" --out " + out +
               " --force --raw-format csv 2>/dev/null"),
            0);
  TupleReader rc(out + "/tuples.csv");
  EXPECT_EQ(rc.size(), 5u * 8 * 4);
  // Out-of-range ids are a clear error.
  const std::string err = out + "/err.txt";
  EXPECT_NE(sh(exe + " measure --model " + model + " --tokens \"1 5 512\" --out " + out + "_bad 2>" + err), 0);
  std::ifstream ef(err);
  std::stringstream es;
  es << ef.rdbuf();
  EXPECT_NE(es.str().find("512"), std::string::npos) << es.str();
  EXPECT_FALSE(std::filesystem::exists(out + "_bad/tuples.npy"));
}
