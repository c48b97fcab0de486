#include "actors/member.h"

#include "common/check.h"
#include "common/prompt.h"

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

void check_prompts_fit(const Member& member, const std::vector<Problem>& problems, const std::string& data_path,
                       int64_t max_new_tokens) {
  const int64_t positions = member.model->max_seq_len();
  const Problem* longest = nullptr;
  int64_t longest_tokens = 0;
  for (const Problem& p : problems) {
    const int64_t n = static_cast<int64_t>(member.tokenizer.encode(format_prompt(p.question), true).size());
    if (n > longest_tokens) {
      longest_tokens = n;
      longest = &p;
    }
  }
  if (longest == nullptr || longest_tokens + max_new_tokens <= positions) return;
  const std::string where = data_path + ":" + std::to_string(longest->line) + " (id " + longest->id + ")";
  const int64_t room = positions - longest_tokens;
  RLAE_USAGE_CHECK(room < 1, "--max-new-tokens ", max_new_tokens, " does not fit member ", member.dir, " (",
                   positions, " positions) with the prompts of ", data_path, ": the longest has ", longest_tokens,
                   " tokens, ", where, "; use --max-new-tokens ", room, " or less");
  RLAE_FAIL(where, ": the prompt has ", longest_tokens, " tokens (the longest of the file), which leaves no room to "
            "answer in member ", member.dir, "'s ", positions, " positions; shorten or drop such problems");
}

}  // namespace rlae
