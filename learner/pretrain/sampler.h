// The training examples of member pretraining and the seeded data mix that draws them
// (learner/pretrain/pretrain.h describes both).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/dataset.h"

namespace rlae {

class Tokenizer;
struct PretrainConfig;

namespace pretraining {

struct Example {
  std::vector<int32_t> ids;  // prompt (with the tokenizer's template), target, EOS
  int32_t prompt_len = 0;
  size_t file = 0, index = 0;  // the problem it was made from (Sampler::problem)
};

// tokenizer.encode(format_prompt(question), add_special_tokens) + encode(format_target(answer)) + EOS.
Example make_example(const Tokenizer& tok, int32_t eos, const Problem& p);

// Draws training examples with replacement: a (file, family) group with probability p, then a
// problem of the group uniformly. Tokenizes lazily (memoized).
class Sampler {
 public:
  struct Group {
    size_t file;
    std::string family;
    std::vector<size_t> problems;  // indices into the file
    double p = 0;                  // probability of the group (sums to 1 over groups)
  };

  Sampler(const PretrainConfig& c, const Tokenizer& tok, int32_t eos);

  const std::vector<Group>& groups() const { return groups_; }
  // An example id (file, problem) of at most max-seq-len tokens.
  std::pair<size_t, size_t> draw();
  const Example& example(size_t file, size_t i);
  const Problem& problem(size_t file, size_t i) const { return files_[file][i]; }
  // Every problem the mix can draw (groups of positive probability), in group order.
  std::vector<const Problem*> mix_problems() const;

  int64_t skipped() const { return skipped_; }
  void set_skipped(int64_t n) { skipped_ = n; }
  // The random state as text (checkpoints), and back.
  std::string rng_state() const;
  void set_rng_state(const std::string& s);

 private:
  const Tokenizer& tok_;
  int32_t eos_;
  int64_t max_len_;
  // The stream is std::mt19937_64 seeded with the run's seed, not rlae's SplitMix64: its
  // text state is what checkpoints store, and every published member was trained on it.
  std::mt19937_64 rng_;
  std::vector<std::vector<Problem>> files_;
  std::vector<std::vector<Example>> cache_;  // per file, per problem; empty ids: not yet made
  std::vector<Group> groups_;
  std::vector<double> cum_;  // cumulative group probabilities
  int64_t skipped_ = 0;
};

}  // namespace pretraining
}  // namespace rlae
