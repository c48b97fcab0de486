// Pretraining a tiny member LLM from scratch on the CPU (`rlae pretrain`). Library
// rlae_pretrain (this folder), beside the RL learner and independent of it: sampler.h (examples
// and the data mix), batch.h (padding, packing, the loss), evaluation.h, checkpoint.h,
// progress.h, setup.h (checks, model shape, AdamW from common/adam.h), pretrain.cpp (the loop).
//
// Examples: every problem of the training files becomes
//     tokenizer.encode(format_prompt(question), add_special_tokens=true)   (as generate() does)
//   + tokenizer.encode(format_target(answer))
//   + EOS
// so the model is trained on exactly the token sequence it will see and produce at inference.
// The loss covers the target tokens (answer and EOS) by default, or every token.
//
// Word noise (--word-noise P, learner/pretrain/word_noise.h): each drawn example's question has
// its letter words (not numbers) replaced with probability P by words of the mix's questions.
//
// Data mix: each step draws batch-size examples independently, with replacement, from the
// seeded stream: a file with probability ∝ its data-weight, then a task family of that file
// with probability ∝ its families weight (default: ∝ its number of problems, i.e. uniform
// over the file's problems), then a problem of that family uniformly. Families not named in
// a non-empty `families` list get the weight of "*" (default 0: left out). Examples longer
// than max-seq-len are skipped (counted and reported).
//
// Batches: padding (each row one example, right-padded to the batch's longest) or packing
// (rows of max-seq-len tokens holding whole examples, each attending only to itself with its
// own positions, so packing changes speed, not what is computed).
//
// Optimization: AdamW (common/adam.h; decoupled weight decay on matrices and embeddings, none
// on norms and biases), linear warm-up to lr over warmup-steps, then cosine decay to min-lr at
// the last step; global grad-norm clipping. With max-minutes and no steps, the number of steps is
// fixed after a short calibration (the first 10 steps and the first evaluation are timed) so
// that training and evaluations fit in the budget; it is stored in checkpoints, so a resumed
// run keeps the same schedule.
//
// Outputs in `out`: config.json, generation_config.json, model.safetensors (float32),
// tokenizer.json (a copy), tokenizer_config.json, pretrain.ini (the resolved recipe),
// metrics.jsonl (one JSON object per logged step and per evaluation), checkpoints/step-N/
// (weights, AdamW state, step, sampler state, elapsed time; written to a temporary directory
// and renamed, older ones removed). Resuming continues bit-identically: the same losses as an
// uninterrupted run with the same thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace rlae {

struct PretrainConfig {
  // Data
  std::string tokenizer;                  // tokenizer.json
  std::vector<std::string> data;          // training JSONL files (rlae or GSM8K format)
  std::vector<double> data_weights;       // one per file; empty: all 1
  std::vector<std::pair<std::string, double>> families;  // "*" sets the rest; empty: natural
  std::string dev_data;                   // dev JSONL; empty: no evaluation
  std::string bos_token;                  // "": the tokenizer template's first id, if any
  std::string eos_token;                  // "": the first special token named like an EOS
  bool loss_all_tokens = false;           // false: target tokens only
  bool packing = false;
  double word_noise = 0;                  // see word_noise.h; 0: off

  // Model (Llama architecture)
  int64_t hidden_size = 128;
  int64_t num_layers = 4;
  int64_t num_heads = 4;
  int64_t num_kv_heads = 0;               // 0: num_heads
  int64_t intermediate_size = 0;          // 0: 8/3 hidden rounded up to a multiple of 32
  int64_t max_seq_len = 128;
  double rope_theta = 10000.0;
  bool tie_embeddings = true;
  double init_std = 0.02;

  // Optimization
  double lr = 2e-3;
  double min_lr = 2e-4;
  int64_t warmup_steps = 100;
  double weight_decay = 0.1;
  double beta1 = 0.9, beta2 = 0.95, adam_eps = 1e-8;
  int64_t batch_size = 32;                // rows per step
  int64_t steps = 0;                      // 0: as many as fit in max_minutes
  double max_minutes = 0;                 // 0: no time limit; otherwise a hard stop too
  int64_t stop_after = 0;                 // >0: stop this run after this step (schedule kept)
  double grad_clip = 1.0;                 // 0: none
  uint64_t seed = 1;

  // Evaluation, checkpoints, output
  int64_t eval_every = 500;               // 0: only at the end (when dev_data is given)
  int64_t eval_problems = 50;             // dev problems per family
  int64_t checkpoint_every = 500;         // 0: only at the end
  int64_t log_every = 50;                 // metrics.jsonl and plain progress lines
  std::string out;
  bool resume = false;                    // continue from out/checkpoints (fresh if none)
  int threads = 0;                        // 0: LibTorch's default
  bool progress = true;                   // progress line on stderr
  std::string recipe_ini;                 // written as out/pretrain.ini
};

struct PretrainEval {
  int64_t step = 0;
  double loss = 0;      // target-token cross-entropy over all evaluated problems
  double accuracy = 0;  // greedy answers judged by answer_correct (numeric)
  struct Family {
    std::string name;
    int64_t problems = 0;
    double loss = 0, accuracy = 0;
  };
  std::vector<Family> families;
};

struct PretrainResult {
  int64_t first_step = 0;            // 0, or the resumed checkpoint's step
  int64_t last_step = 0;             // steps completed in total
  int64_t horizon = 0;               // the schedule's number of steps
  std::vector<double> losses;        // training loss of every step of this run
  std::vector<PretrainEval> evals;   // this run's evaluations
  double tokens_per_second = 0;      // training tokens (non-padding) per second, this run
  int64_t num_parameters = 0;
  int64_t skipped_examples = 0;      // drawn but longer than max-seq-len
};

// Checks the whole configuration first (tokenizer, data, shapes, out writable; one clear
// rlae::Error or rlae::UsageError before any training), then trains and writes `out`.
PretrainResult pretrain(const PretrainConfig& config);

// The learning rate at `step` (0-based) of a schedule of `horizon` steps.
double pretrain_lr(const PretrainConfig& config, int64_t step, int64_t horizon);

// Parses "add:1,sub:0.5,*:0.1" (weights >= 0).
std::vector<std::pair<std::string, double>> parse_family_weights(const std::string& text);

}  // namespace rlae
