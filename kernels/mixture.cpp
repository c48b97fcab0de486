#include "kernels/mixture.h"

#include <ATen/ATen.h>

#include "common/check.h"

#ifdef RLAE_WITH_CUDA
#include "kernels/cuda/mix_dense.cuh"
#if __has_include(<c10/cuda/impl/cuda_cmake_macros.h>)  // a CUDA build of LibTorch
#include <c10/cuda/CUDAStream.h>
#define RLAE_HAVE_TORCH_CUDA 1
#endif
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

}  // namespace

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
  cudaStream_t stream = nullptr;
#ifdef RLAE_HAVE_TORCH_CUDA
  stream = c10::cuda::getCurrentCUDAStream(p.device().index()).stream();
#endif
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
