// Set-up of member pretraining, all before any training step: the configuration checked, the
// special tokens, the model's shape, the output directory, the optimizer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "actors/model_config.h"

namespace rlae {

class Adam;
class Tokenizer;
class TrainableLM;
struct PretrainConfig;

namespace pretraining {

// Every user error of the configuration as one rlae::UsageError.
void check_config(const PretrainConfig& c);
// --eos-token, or the first special token named like an EOS.
int32_t resolve_eos(const PretrainConfig& c, const Tokenizer& tok);
// --bos-token (recorded only), or the id the tokenizer's template prepends, if any.
std::optional<int32_t> resolve_bos(const PretrainConfig& c, const Tokenizer& tok);
// The Llama configuration of the model the recipe describes.
ModelConfig model_config(const PretrainConfig& c, const Tokenizer& tok, int32_t eos, std::optional<int32_t> bos);
// tokenizer_config.json of the written model.
std::string tokenizer_config_json(const Tokenizer& tok, int32_t eos, std::optional<int32_t> bos, int64_t max_len);
// Creates `out` (and parents) and proves it writable.
void prepare_out(const std::string& out);
// AdamW over lm's parameters (by name): decoupled weight decay on matrices and embeddings,
// none on norms and biases.
Adam make_adamw(const TrainableLM& lm, const PretrainConfig& c);

}  // namespace pretraining
}  // namespace rlae
