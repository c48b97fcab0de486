#include "actors/member.h"

#include "common/check.h"

namespace rlae {

Member load_member(const std::string& dir, const ModelOptions& options) {
  auto model = CausalLM::load(dir, options);
  Tokenizer tok = Tokenizer::from_file(dir + "/tokenizer.json");
  RLAE_CHECK(tok.vocab_size() <= model->config().vocab_size, dir, ": tokenizer.json has ", tok.vocab_size(),
             " tokens but the model's vocabulary has only ", model->config().vocab_size);
  RLAE_CHECK(!model->config().eos_token_ids.empty(), dir,
             ": no end-of-sequence token (eos_token_id in config.json or generation_config.json)");
  return Member{dir, std::move(model), std::move(tok)};
}

}  // namespace rlae
