// A member: a model directory's LLM and its tokenizer, loaded and checked together.
#pragma once

#include <memory>
#include <string>

#include "actors/model.h"
#include "common/tokenizer.h"

namespace rlae {

struct Member {
  std::string dir;
  std::unique_ptr<CausalLM> model;
  Tokenizer tokenizer;
};

// Loads DIR/config.json + weights and DIR/tokenizer.json; rlae::Error when the
// tokenizer's ids do not fit the model's vocabulary or the model has no EOS.
Member load_member(const std::string& dir, const ModelOptions& options);

}  // namespace rlae
