#include "kernels/topk_union.h"

#include <ATen/ATen.h>

#include "common/check.h"

#ifdef RLAE_WITH_CUDA
#include "kernels/cuda/topk_union.cuh"
#include "kernels/cuda/torch_stream.h"
#endif

namespace rlae::kernels {
namespace {

void check_inputs(const at::Tensor& logits, const at::Tensor& union_map, int64_t k) {
  RLAE_CHECK(logits.dim() == 2, "softmax_topk_union: logits must be [B, V], got ", logits.sizes());
  RLAE_CHECK(union_map.dim() == 1 && union_map.size(0) == logits.size(1),
             "softmax_topk_union: union_map must be [V] = [", logits.size(1), "], got ", union_map.sizes());
  RLAE_CHECK(union_map.scalar_type() == at::kInt, "softmax_topk_union: union_map must be int32, got ",
             union_map.scalar_type());
  RLAE_CHECK(k >= 1 && k <= logits.size(1), "softmax_topk_union: k = ", k, " outside [1, V = ",
             logits.size(1), "]");
  RLAE_CHECK(logits.device() == union_map.device(), "softmax_topk_union: logits on ", logits.device(),
             " but union_map on ", union_map.device());
}

}  // namespace

TopKUnion softmax_topk_union_cpu(const at::Tensor& logits_in, const at::Tensor& map_in, int64_t k) {
  check_inputs(logits_in, map_in, k);
  const at::Tensor probs = at::softmax(logits_in.to(at::kCPU).to(at::kFloat), 1).contiguous();  // [B, V]
  const int64_t V = probs.size(1);
  // Composite key: probability bits (monotonic for p >= 0) high, inverted id low:
  // one topk gives probability descending, then id ascending, exactly.
  const at::Tensor bits = probs.view(at::kInt).to(at::kLong);                          // [B, V]
  const at::Tensor inv_id = at::arange(V, bits.options()).neg().add(int64_t{0xFFFFFFFF}).unsqueeze(0);  // [1, V]
  const at::Tensor key = bits.mul(int64_t{1} << 32).add(inv_id);
  const at::Tensor idx = std::get<1>(key.topk(k, 1, /*largest=*/true, /*sorted=*/true));  // [B, k]
  const at::Tensor map = map_in.to(at::kCPU).contiguous();
  return {map.index({idx}).to(at::kInt), probs.gather(1, idx)};
}

TopKUnion softmax_topk_union(const at::Tensor& logits, const at::Tensor& union_map, int64_t k) {
  if (logits.device().is_cpu()) return softmax_topk_union_cpu(logits, union_map, k);
#ifdef RLAE_WITH_CUDA
  check_inputs(logits, union_map, k);
  const at::Tensor x = logits.to(at::kFloat).contiguous();
  const at::Tensor map = union_map.contiguous();
  const int64_t B = x.size(0), V = x.size(1);
  TopKUnion out{at::empty({B, k}, map.options()), at::empty({B, k}, x.options())};
  cuda::softmax_topk_union(x.data_ptr<float>(), map.data_ptr<int32_t>(), static_cast<int>(B), V,
                           static_cast<int>(k), out.ids.data_ptr<int32_t>(), out.probs.data_ptr<float>(),
                           current_stream(x));
  return out;
#else
  RLAE_FAIL("softmax_topk_union: tensors on ", logits.device(),
            " but this rlae was built without CUDA (configure with -DRLAE_CUDA=ON)");
#endif
}

}  // namespace rlae::kernels
