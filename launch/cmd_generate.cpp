// rlae generate: answer prompts with one member model (Hugging Face directory).
#include <ATen/Parallel.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "actors/generate.h"
#include "actors/member.h"
#include "common/check.h"
#include "common/options.h"
#include "common/tokenizer.h"
#include "launch/commands.h"
#include "launch/model_options.h"

namespace rlae::cli {

int cmd_generate(int argc, const char* const* argv) {
  po::options_description desc("generate");
  desc.add_options()
      ("model", opt<std::string>("DIR"), "model directory (config.json, *.safetensors, tokenizer.json)")
      ("prompt", po::value<std::vector<std::string>>()->value_name("TEXT")->composing(),
       "prompt text; repeat for a batch")
      ("max-new-tokens", opt<int>("N", 128), "tokens to generate at most")
      ("temperature", opt<double>("T", 0.0), "0 = greedy; > 0 samples")
      ("seed", opt<long long>("S", 0), "sampling seed")
      ("no-special-tokens", po::bool_switch(), "do not add the tokenizer's BOS/template to prompts")
      ("json", po::bool_switch(), "print one JSON object per prompt");
  add_model_options(desc);
  const CommandSpec spec{"generate", "answer prompts with a member model",
                         "rlae generate --model DIR --prompt TEXT [--prompt TEXT ...] [options]"};
  const auto vm = parse_command_options(spec, desc, argc, argv, std::cout);
  if (!vm) return kExitOk;
  RLAE_USAGE_CHECK(vm->count("model"), "rlae generate: --model DIR is required");
  RLAE_USAGE_CHECK(vm->count("prompt"), "rlae generate: give at least one --prompt TEXT");
  const auto prompts = (*vm)["prompt"].as<std::vector<std::string>>();
  GenerateOptions go;
  go.max_new_tokens = (*vm)["max-new-tokens"].as<int>();
  go.temperature = (*vm)["temperature"].as<double>();
  go.seed = static_cast<uint64_t>((*vm)["seed"].as<long long>());
  go.add_special_tokens = !(*vm)["no-special-tokens"].as<bool>();
  RLAE_USAGE_CHECK(go.max_new_tokens >= 1, "rlae generate: --max-new-tokens must be >= 1");
  RLAE_USAGE_CHECK(go.temperature >= 0, "rlae generate: --temperature must be >= 0");

  const std::string dir = (*vm)["model"].as<std::string>();
  ModelOptions mo = model_options_from(*vm, static_cast<int64_t>(prompts.size()));
  Member member = load_member(dir, mo);
  GenerateStats stats;
  const auto gens = generate(*member.model, member.tokenizer, prompts, go, &stats);
  for (size_t i = 0; i < gens.size(); ++i) {
    if ((*vm)["json"].as<bool>()) {
      nlohmann::json j = {{"prompt", prompts[i]}, {"text", gens[i].text}, {"ids", gens[i].ids},
                          {"stopped_at_eos", gens[i].stopped_at_eos}};
      std::cout << j.dump() << "\n";
    } else {
      if (prompts.size() > 1) std::cout << "[" << i << "] ";
      std::cout << gens[i].text << "\n";
    }
  }
  std::fprintf(stderr, "rlae generate: %lld tokens in %.3f s (%.1f tokens/s, %.2f ms/token)\n",
               static_cast<long long>(stats.generated_tokens), stats.seconds,
               stats.generated_tokens / std::max(stats.seconds, 1e-9),
               1e3 * stats.seconds / std::max<int64_t>(stats.generated_tokens, 1));
  return kExitOk;
}

}  // namespace rlae::cli
