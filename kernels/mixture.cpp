#include "kernels/mixture.h"

#include <ATen/ATen.h>

#include "common/check.h"

#ifdef RLAE_WITH_CUDA
#include "kernels/cuda/mix_dense.cuh"
#include "kernels/cuda/mix_sparse.cuh"
#include "kernels/cuda/torch_stream.h"
#endif

namespace rlae::kernels {
namespace {

void check_inputs(const at::Tensor& probs, const at::Tensor& weights) {
  RLAE_CHECK(probs.dim() == 3, "mix_dense_argmax: probs must be [K, B, V], got ", probs.sizes());
  RLAE_CHECK(weights.dim() == 2, "mix_dense_argmax: weights must be [B, K], got ", weights.sizes());
  RLAE_CHECK(probs.size(0) == weights.size(1) && probs.size(1) == weights.size(0),
             "mix_dense_argmax: probs ", probs.sizes(), " and weights ", weights.sizes(),
             " disagree on K or B");
  RLAE_CHECK(probs.size(2) > 0, "mix_dense_argmax: empty vocabulary");
  RLAE_CHECK(probs.scalar_type() == at::kFloat && weights.scalar_type() == at::kFloat,
             "mix_dense_argmax: expects float32 inputs, got ", probs.scalar_type(), " and ",
             weights.scalar_type());
  RLAE_CHECK(probs.device() == weights.device(), "mix_dense_argmax: probs on ", probs.device(),
             " but weights on ", weights.device());
}

void check_sparse(const at::Tensor& ids, const at::Tensor& probs, const at::Tensor& weights) {
  RLAE_CHECK(ids.dim() == 3 && probs.sizes() == ids.sizes(), "mix_sparse_argmax: ids ", ids.sizes(),
             " and probs ", probs.sizes(), " must both be [K, B, k]");
  RLAE_CHECK(weights.dim() == 2 && weights.size(0) == ids.size(1) && weights.size(1) == ids.size(0),
             "mix_sparse_argmax: weights must be [B, K] = [", ids.size(1), ", ", ids.size(0), "], got ",
             weights.sizes());
  RLAE_CHECK(ids.scalar_type() == at::kInt && probs.scalar_type() == at::kFloat &&
                 weights.scalar_type() == at::kFloat,
             "mix_sparse_argmax: expects int32 ids and float32 probs and weights");
  RLAE_CHECK(ids.size(2) >= 1, "mix_sparse_argmax: k must be >= 1");
  RLAE_CHECK(ids.device() == probs.device() && ids.device() == weights.device(),
             "mix_sparse_argmax: inputs on different devices");
}

}  // namespace

MixResult mix_sparse_argmax_cpu(const at::Tensor& ids_in, const at::Tensor& probs_in,
                                const at::Tensor& weights_in) {
  check_sparse(ids_in, probs_in, weights_in);
  const at::Tensor ids_t = ids_in.to(at::kCPU).contiguous();
  const at::Tensor probs_t = probs_in.to(at::kCPU).contiguous();
  const at::Tensor w_t = weights_in.to(at::kCPU).contiguous();
  const int64_t K = ids_t.size(0), B = ids_t.size(1), k = ids_t.size(2);
  const auto ids = ids_t.accessor<int32_t, 3>();
  const auto probs = probs_t.accessor<float, 3>();
  const auto w = w_t.accessor<float, 2>();
  MixResult out{at::empty({B}, at::kLong), at::empty({B}, at::kFloat)};
  auto tok = out.token.accessor<int64_t, 1>();
  auto val = out.prob.accessor<float, 1>();
  for (int64_t b = 0; b < B; ++b) {
    float best = -1.f;
    int64_t best_id = -1;
    for (int64_t m = 0; m < K; ++m) {
      for (int64_t j = 0; j < k; ++j) {
        const int32_t u = ids[m][b][j];
        // Score each union id once, at its first appearance in (member, rank) order.
        bool seen = false;
        for (int64_t m2 = 0; m2 < m && !seen; ++m2)
          for (int64_t j2 = 0; j2 < k; ++j2)
            if (ids[m2][b][j2] == u) { seen = true; break; }
        if (seen) continue;
        float acc = 0.f;
        for (int64_t m2 = 0; m2 < K; ++m2) {
          for (int64_t j2 = 0; j2 < k; ++j2) {
            if (ids[m2][b][j2] == u) {
              const float prod = probs[m2][b][j2] * w[b][m2];
              acc = acc + prod;
              break;
            }
          }
        }
        if (acc > best || (acc == best && u < best_id)) {
          best = acc;
          best_id = u;
        }
      }
    }
    tok[b] = best_id;
    val[b] = best;
  }
  return out;
}

MixResult mix_sparse_argmax(const at::Tensor& ids, const at::Tensor& probs, const at::Tensor& weights) {
  if (ids.device().is_cpu()) return mix_sparse_argmax_cpu(ids, probs, weights);
#ifdef RLAE_WITH_CUDA
  check_sparse(ids, probs, weights);
  const at::Tensor i = ids.contiguous(), p = probs.contiguous(), w = weights.contiguous();
  const int64_t K = i.size(0), B = i.size(1), k = i.size(2);
  MixResult out{at::empty({B}, p.options().dtype(at::kLong)), at::empty({B}, p.options())};
  cuda::mix_sparse_argmax(i.data_ptr<int32_t>(), p.data_ptr<float>(), w.data_ptr<float>(),
                          static_cast<int>(K), static_cast<int>(B), static_cast<int>(k),
                          out.token.data_ptr<int64_t>(), out.prob.data_ptr<float>(), current_stream(p));
  return out;
#else
  RLAE_FAIL("mix_sparse_argmax: tensors on ", ids.device(),
            " but this rlae was built without CUDA (configure with -DRLAE_CUDA=ON)");
#endif
}

MixResult mix_dense_argmax_cpu(const at::Tensor& probs_in, const at::Tensor& weights_in) {
  check_inputs(probs_in, weights_in);
  const at::Tensor probs = probs_in.to(at::kCPU).contiguous();
  const at::Tensor weights = weights_in.to(at::kCPU).contiguous();
  const int64_t K = probs.size(0), B = probs.size(1), V = probs.size(2);
  // Sequential in k, multiply and add rounded separately (matches the CUDA kernel).
  at::Tensor mixed = at::zeros({B, V}, probs.options());
  for (int64_t k = 0; k < K; ++k) {
    mixed.add_(probs[k].mul(weights.select(1, k).unsqueeze(1)));
  }
  const at::Tensor best = std::get<0>(mixed.max(1));                          // [B]
  const at::Tensor ids = at::arange(V, probs.options().dtype(at::kLong));     // [V]
  const at::Tensor is_best = mixed.eq(best.unsqueeze(1));                     // [B, V]
  const at::Tensor token = at::where(is_best, ids.unsqueeze(0), at::full({}, V, ids.options()))
                               .amin(1);                                      // smallest tied id
  return {token, best};
}

MixResult mix_dense_argmax(const at::Tensor& probs, const at::Tensor& weights) {
  if (probs.device().is_cpu()) return mix_dense_argmax_cpu(probs, weights);
#ifdef RLAE_WITH_CUDA
  check_inputs(probs, weights);
  RLAE_CHECK(probs.is_cuda(), "mix_dense_argmax: unsupported device ", probs.device());
  const at::Tensor p = probs.contiguous();
  const at::Tensor w = weights.contiguous();
  const int64_t K = p.size(0), B = p.size(1), V = p.size(2);
  MixResult out{at::empty({B}, p.options().dtype(at::kLong)), at::empty({B}, p.options())};
  cudaStream_t stream = current_stream(p);
  cuda::mix_dense_argmax(p.data_ptr<float>(), w.data_ptr<float>(), static_cast<int>(K),
                         static_cast<int>(B), V, out.token.data_ptr<int64_t>(),
                         out.prob.data_ptr<float>(), stream);
  return out;
#else
  RLAE_FAIL("mix_dense_argmax: tensors on ", probs.device(),
            " but this rlae was built without CUDA (configure with -DRLAE_CUDA=ON)");
#endif
}

}  // namespace rlae::kernels
