#include "learner/pretrain/batch.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "actors/lm_train.h"
#include "learner/pretrain/checkpoint.h"
#include "learner/pretrain/pretrain.h"
#include "learner/pretrain/sampler.h"

namespace rlae::pretraining {

Batch make_batch(const Rows& rows, int64_t T, bool packed, bool loss_all, int32_t pad) {
  const int64_t B = static_cast<int64_t>(rows.size());
  Batch b;
  b.tokens = at::full({B, T}, pad, at::kLong);
  b.labels = at::full({B, T}, kIgnore, at::kLong);
  if (packed) {
    b.positions = at::zeros({B, T}, at::kLong);
    b.segments = at::full({B, T}, -1, at::kLong);
  }
  auto tk = b.tokens.accessor<int64_t, 2>();
  auto lb = b.labels.accessor<int64_t, 2>();
  for (int64_t r = 0; r < B; ++r) {
    int64_t off = 0, seg = 0;
    for (const Example* e : rows[static_cast<size_t>(r)]) {
      const int64_t L = static_cast<int64_t>(e->ids.size());
      for (int64_t t = 0; t < L; ++t) {
        tk[r][off + t] = e->ids[static_cast<size_t>(t)];
        if (t + 1 < L && (loss_all || t + 1 >= e->prompt_len)) lb[r][off + t] = e->ids[static_cast<size_t>(t + 1)];
      }
      if (packed) {
        auto ps = b.positions.accessor<int64_t, 2>();
        auto sg = b.segments.accessor<int64_t, 2>();
        for (int64_t t = 0; t < L; ++t) {
          ps[r][off + t] = t;
          sg[r][off + t] = seg;
        }
        ++seg;
      }
      off += L;
      b.tokens_real += L;
    }
  }
  return b;
}

Rows draw_rows(const PretrainConfig& c, Sampler& sampler, TrainState& st, int64_t* T) {
  Rows rows(static_cast<size_t>(c.batch_size));
  *T = 0;
  for (auto& row : rows) {
    if (!c.packing) {
      const auto [f, i] = sampler.draw();
      row.push_back(&sampler.example(f, i));
      *T = std::max<int64_t>(*T, static_cast<int64_t>(row.back()->ids.size()));
      continue;
    }
    *T = c.max_seq_len;
    int64_t used = 0;
    while (true) {
      if (st.pending_file < 0) {
        const auto [f, i] = sampler.draw();
        st.pending_file = static_cast<int64_t>(f);
        st.pending_index = static_cast<int64_t>(i);
      }
      const Example* pending =
          &sampler.example(static_cast<size_t>(st.pending_file), static_cast<size_t>(st.pending_index));
      const int64_t L = static_cast<int64_t>(pending->ids.size());
      if (used + L > *T) break;
      row.push_back(pending);
      used += L;
      st.pending_file = st.pending_index = -1;
    }
  }
  return rows;
}

at::Tensor batch_loss(const TrainableLM& lm, const Batch& b, at::Reduction::Reduction reduction, int64_t* count) {
  at::Tensor h = lm.hidden_states(b.tokens, b.positions, b.segments);  // [B, T, H]
  at::Tensor flat = b.labels.view({-1});
  at::Tensor where = flat.ne(kIgnore).nonzero().view({-1});
  if (count) *count = where.size(0);
  at::Tensor logits = lm.head(h.view({-1, h.size(-1)}).index_select(0, where));  // [N, V]
  return at::cross_entropy_loss(logits, flat.index_select(0, where), {}, reduction);
}

}  // namespace rlae::pretraining
