// Dev evaluation of member pretraining: target-token loss and greedy-answer accuracy per task
// family, on the first eval-problems dev problems of each family that fit in max-seq-len.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/dataset.h"
#include "learner/pretrain/sampler.h"

namespace rlae {

class Tokenizer;
class TrainableLM;
struct PretrainConfig;
struct PretrainEval;

namespace pretraining {

struct DevSet {
  std::vector<std::string> families;            // sorted
  std::vector<std::vector<Problem>> problems;   // per family
  std::vector<std::vector<Example>> examples;   // per family
  int64_t dropped = 0;                          // longer than max-seq-len
};

DevSet make_dev_set(const PretrainConfig& c, const Tokenizer& tok, int32_t eos);

// Loss (mean over target tokens, batches of batch-size rows padded with `pad`) and accuracy
// (greedy answers judged by answer_correct, numeric) per family and over all.
PretrainEval evaluate(const TrainableLM& lm, const DevSet& dev, const Tokenizer& tok, const PretrainConfig& c,
                      int32_t pad);

// "eval step N: dev loss L, accuracy A (family accuracy ...)".
std::string format_eval(const PretrainEval& ev);
// Its metrics.jsonl record ({"type": "eval", ...}), `seconds` the time it took.
nlohmann::json eval_json(const PretrainEval& ev, double seconds);

}  // namespace pretraining
}  // namespace rlae
