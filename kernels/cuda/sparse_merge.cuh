// The merged value of one sparse candidate, shared by the sparse argmax and
// sampling kernels: union id ids[m, b, j], scored once at its first appearance
// in (member, rank) order, members summed in order with separately rounded
// multiply and add (as kernels::mix_sparse_argmax_cpu does).
#pragma once

#include <cstdint>

namespace rlae::cuda {

// False when (m, j) repeats an earlier candidate of row b; else the merged value in `s`.
__device__ __forceinline__ bool sparse_merged(const int32_t* __restrict__ ids, const float* __restrict__ probs,
                                              const float* __restrict__ weights, int K, int B, int k, int b, int m,
                                              int j, float& s) {
  auto at = [&](int mm, int jj) { return (static_cast<int64_t>(mm) * B + b) * k + jj; };
  const int32_t u = ids[at(m, j)];
  for (int m2 = 0; m2 < m; ++m2)
    for (int j2 = 0; j2 < k; ++j2)
      if (ids[at(m2, j2)] == u) return false;
  float acc = 0.f;
  for (int m2 = 0; m2 < K; ++m2) {
    for (int j2 = 0; j2 < k; ++j2) {
      if (ids[at(m2, j2)] == u) {
        acc = __fadd_rn(acc, __fmul_rn(probs[at(m2, j2)], weights[b * K + m2]));
        break;
      }
    }
  }
  s = acc;
  return true;
}

}  // namespace rlae::cuda
