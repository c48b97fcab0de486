// Checkpoints of member pretraining: out/checkpoints/step-<N>/ with weights.safetensors,
// optimizer.safetensors (AdamW m and v: "m.<parameter>", "v.<parameter>") and state.json (step,
// schedule, AdamW step count, sampler state, elapsed time). Written to .tmp-step-<N> and renamed;
// state.json marks a complete one; older ones are removed.
#pragma once

#include <cstdint>
#include <string>

namespace rlae {

class Adam;
class TrainableLM;

namespace pretraining {

class Sampler;

// What a resumed run continues from, beside the weights, AdamW and the sampler.
struct TrainState {
  int64_t step = 0;
  int64_t horizon = -1;        // -1: not calibrated yet
  bool horizon_final = false;  // max-minutes: the estimate is final
  double elapsed_s = 0;
  double eval_cost_s = 0;
  int64_t tokens_seen = 0;
  int64_t pending_file = -1, pending_index = -1;  // packing: the example waiting for a row
};

// The newest complete checkpoint directory under `root`, or "".
std::string latest_checkpoint(const std::string& root);
void save_checkpoint(const std::string& root, const TrainableLM& lm, const Adam& opt, const Sampler& sampler,
                     const TrainState& st);
// Loads `dir` into lm, opt and sampler (the model must be the configured one).
TrainState load_checkpoint(const std::string& dir, TrainableLM& lm, Adam& opt, Sampler& sampler);

// Keeps the metrics.jsonl lines of steps <= `step` (a resumed run rewrites what followed).
void truncate_metrics(const std::string& path, int64_t step);

}  // namespace pretraining
}  // namespace rlae
