// Batched generation with one member: continuous batching over the model's
// slots (a finished sequence's slot takes the next prompt at once), greedy or
// seeded sampling, stop at EOS or after max_new_tokens.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actors/model.h"
#include "common/tokenizer.h"

namespace rlae {

struct GenerateOptions {
  int max_new_tokens = 128;
  double temperature = 0.0;  // 0: greedy (argmax, smallest id on ties)
  uint64_t seed = 0;         // sampling: prompt i draws from its own stream (seed, i)
  bool add_special_tokens = true;  // the tokenizer's template (e.g. BOS) around the prompt
};

struct Generation {
  std::vector<int32_t> ids;  // generated ids, EOS excluded
  std::string text;          // decoded, special tokens skipped
  bool stopped_at_eos = false;
  int64_t prompt_tokens = 0;
};

struct GenerateStats {
  int64_t generated_tokens = 0;  // every token chosen, EOS included
  double seconds = 0;
};

// Called after every step with the number of finished prompts (progress lines).
using GenerateProgress = std::function<void(size_t finished, size_t total)>;

std::vector<Generation> generate(CausalLM& model, const Tokenizer& tokenizer,
                                 const std::vector<std::string>& prompts, const GenerateOptions& options,
                                 GenerateStats* stats = nullptr, const GenerateProgress& progress = {});

}  // namespace rlae
