// Training batches of member pretraining: rows of examples, padded or packed
// (learner/pretrain/pretrain.h), and the loss over their labelled tokens.
#pragma once

#include <ATen/core/Reduction.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace rlae {

class TrainableLM;
struct PretrainConfig;

namespace pretraining {

struct Example;
class Sampler;
struct TrainState;

constexpr int64_t kIgnore = -100;  // label of a position outside the loss

struct Batch {
  at::Tensor tokens;     // [B, T] int64
  at::Tensor positions;  // [B, T] int64, or undefined (0..T-1)
  at::Tensor segments;   // [B, T] int64, or undefined (one sequence per row)
  at::Tensor labels;     // [B, T] int64: the next token, or kIgnore
  int64_t tokens_real = 0;
};

using Rows = std::vector<std::vector<const Example*>>;

// Rows of examples, right-padded with `pad` to T; packed rows carry positions and segments.
// Labels: the target tokens, or every next token with loss_all.
Batch make_batch(const Rows& rows, int64_t T, bool packed, bool loss_all, int32_t pad);

// The next training batch's rows and their length *T: one drawn example per row, or (packing)
// rows of max-seq-len tokens filled with whole examples; the example that did not fit waits in
// st.pending_file / st.pending_index for the next row (or batch, or resumed run).
Rows draw_rows(const PretrainConfig& c, Sampler& sampler, TrainState& st, int64_t* T);

// Cross-entropy at the labelled positions only (the LM head runs only there); *count receives
// their number.
at::Tensor batch_loss(const TrainableLM& lm, const Batch& b, at::Reduction::Reduction reduction,
                      int64_t* count = nullptr);

}  // namespace pretraining
}  // namespace rlae
