// config.json -> ModelDesc: keys old and new (rope_scaling, rope_parameters),
// explicit head_dim, EOS lists, Mistral/Qwen2, and refusals of what Spectra
// does not compute.
#include <gtest/gtest.h>

#include "formats/hf_config.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using namespace spectra;
using namespace spectra::test;
using nlohmann::json;

namespace {

json llama_config() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
    "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
    "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
    "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"},
    "tie_word_embeddings": false, "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
    "hidden_act": "silu", "torch_dtype": "bfloat16"})");
}

std::string error_of(const json& cfg) {
  try {
    parse_hf_config(cfg, "cfg.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(HfConfig, Llama31) {
  const ModelDesc d = parse_hf_config(llama_config(), "cfg.json");
  EXPECT_EQ(d.architecture, "llama");
  EXPECT_EQ(d.n_layers, 32);
  EXPECT_EQ(d.n_heads, 32);
  EXPECT_EQ(d.n_kv_heads, 8);
  EXPECT_EQ(d.gqa_group(), 4);
  EXPECT_EQ(d.head_dim, 128);
  EXPECT_EQ(d.ffn, 14336);
  EXPECT_EQ(d.vocab, 128256);
  EXPECT_EQ(d.max_context, 131072);
  EXPECT_FLOAT_EQ(d.rms_eps, 1e-5f);
  EXPECT_EQ(d.rope.theta, 500000.0);
  EXPECT_EQ(d.rope.dim, 128);
  EXPECT_EQ(d.rope.scaling, RopeScalingType::Llama3);
  EXPECT_EQ(d.rope.factor, 8.0);
  EXPECT_EQ(d.rope.low_freq_factor, 1.0);
  EXPECT_EQ(d.rope.high_freq_factor, 4.0);
  EXPECT_EQ(d.rope.original_max_position, 8192);
  EXPECT_EQ(d.rope_layout, RopeLayout::HalfSplit);
  EXPECT_FALSE(d.tied_embeddings);
  EXPECT_EQ(d.bos_id, 128000);
  EXPECT_EQ(d.eos_id, 128001);
  EXPECT_EQ(d.eos_ids.size(), 3u);
  EXPECT_TRUE(d.add_bos);
}

TEST(HfConfig, RopeParametersAndExplicitHeadDim) {
  json c = llama_config();
  c.erase("rope_scaling");
  c.erase("rope_theta");
  c["rope_parameters"] = {{"rope_type", "linear"}, {"factor", 2.0}, {"rope_theta", 1e6}};
  c["head_dim"] = 64;  // need not be hidden / heads
  const ModelDesc d = parse_hf_config(c, "cfg.json");
  EXPECT_EQ(d.rope.theta, 1e6);
  EXPECT_EQ(d.rope.scaling, RopeScalingType::Linear);
  EXPECT_EQ(d.rope.factor, 2.0);
  EXPECT_EQ(d.head_dim, 64);
  EXPECT_EQ(d.rope.dim, 64);

  c["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 10000.0}};
  EXPECT_EQ(parse_hf_config(c, "cfg.json").rope.scaling, RopeScalingType::None);
  c.erase("rope_parameters");
  c["rope_scaling"] = {{"type", "linear"}, {"factor", 4.0}};  // older "type" key
  EXPECT_EQ(parse_hf_config(c, "cfg.json").rope.factor, 4.0);
  c["rope_scaling"] = nullptr;
  EXPECT_EQ(parse_hf_config(c, "cfg.json").rope.scaling, RopeScalingType::None);
}

TEST(HfConfig, MistralAndQwen2) {
  json m = llama_config();
  m["architectures"] = {"MistralForCausalLM"};
  m["model_type"] = "mistral";
  m["sliding_window"] = 4096;
  m.erase("rope_scaling");
  const ModelDesc dm = parse_hf_config(m, "cfg.json");
  EXPECT_EQ(dm.architecture, "mistral");
  EXPECT_EQ(dm.sliding_window, 4096);
  EXPECT_FALSE(dm.qkv_bias);

  json q = m;
  q["architectures"] = {"Qwen2ForCausalLM"};
  q["model_type"] = "qwen2";
  q["use_sliding_window"] = false;
  const ModelDesc dq = parse_hf_config(q, "cfg.json");
  EXPECT_EQ(dq.architecture, "qwen2");
  EXPECT_TRUE(dq.qkv_bias);
  EXPECT_EQ(dq.sliding_window, 0);
  EXPECT_FALSE(dq.add_bos);
}

TEST(HfConfig, RefusesWhatItCannotCompute) {
  json c = llama_config();
  c["architectures"] = {"GPT2LMHeadModel"};
  EXPECT_NE(error_of(c).find("field 'architectures': unsupported architecture 'GPT2LMHeadModel'"), std::string::npos)
      << error_of(c);
  c = llama_config();
  c["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  EXPECT_NE(error_of(c).find("field 'rope_scaling.rope_type': unsupported RoPE scaling 'yarn'"), std::string::npos)
      << error_of(c);
  c = llama_config();
  c["hidden_act"] = "gelu";
  EXPECT_NE(error_of(c).find("hidden_act"), std::string::npos);
  c = llama_config();
  c["attention_bias"] = true;
  EXPECT_NE(error_of(c).find("attention_bias"), std::string::npos);
  c = llama_config();
  c["quantization_config"] = {{"quant_method", "gptq"}};
  EXPECT_NE(error_of(c).find("quantization_config"), std::string::npos);
  c = llama_config();
  c.erase("hidden_size");
  EXPECT_NE(error_of(c).find("cfg.json: field 'hidden_size': missing"), std::string::npos) << error_of(c);
  c = llama_config();
  c["num_key_value_heads"] = 5;
  EXPECT_NE(error_of(c).find("KV heads"), std::string::npos) << error_of(c);
  c = llama_config();
  c["num_hidden_layers"] = "32";
  EXPECT_NE(error_of(c).find("field 'num_hidden_layers': expected an integer"), std::string::npos) << error_of(c);
}

TEST(HfConfig, FolderFilesAddBosAndGenerationConfig) {
  TempDir tmp;
  json c = llama_config();
  c.erase("bos_token_id");
  c.erase("eos_token_id");
  write_text(tmp / "config.json", c.dump());
  write_text(tmp / "generation_config.json", R"({"bos_token_id": 7, "eos_token_id": 9})");
  write_text(tmp / "tokenizer_config.json", R"({"add_bos_token": false})");
  const ModelDesc d = read_hf_config(tmp.path());
  EXPECT_EQ(d.bos_id, 7);
  EXPECT_EQ(d.eos_id, 9);
  EXPECT_FALSE(d.add_bos);

  write_text(tmp / "config.json", "{\"hidden_size\": 12,");
  try {
    read_hf_config(tmp.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(tmp / "config.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("malformed JSON"), std::string::npos) << e.what();
  }
  fs::remove(tmp / "config.json");
  try {
    read_hf_config(tmp.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("config.json: missing"), std::string::npos) << e.what();
  }
}
