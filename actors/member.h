// A member: a model directory's LLM and its tokenizer, loaded and checked together.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/model.h"
#include "common/dataset.h"
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

// Before any decoding: every problem's prompt (format_prompt, encoded with the
// tokenizer's template as decoding does) plus `max_new_tokens` fits the member's
// context (max_seq_len). The error names the longest prompt's `data_path`:line,
// its id and its length: rlae::UsageError (exit 2) when a smaller
// --max-new-tokens fits every prompt (the message gives the largest that
// does), rlae::Error when the longest prompt alone fills the context.
void check_prompts_fit(const Member& member, const std::vector<Problem>& problems, const std::string& data_path,
                       int64_t max_new_tokens);

}  // namespace rlae
