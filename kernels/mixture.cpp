#include "kernels/mixture.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "common/check.h"

#ifdef RLAE_WITH_CUDA
#include "kernels/cuda/mix_dense.cuh"
#include "kernels/cuda/mix_sparse.cuh"
#include "kernels/cuda/sample.cuh"
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

namespace {

// Row b's candidates of a sparse payload: each union id once, at its first
// appearance in (member, rank) order, with its merged value (members summed in
// order, multiply and add rounded separately, as the CUDA kernels do).
struct SparseRows {
  at::Tensor ids_t, probs_t, w_t;
  int64_t K, B, k;
  explicit SparseRows(const at::Tensor& ids, const at::Tensor& probs, const at::Tensor& weights)
      : ids_t(ids.to(at::kCPU).contiguous()), probs_t(probs.to(at::kCPU).contiguous()),
        w_t(weights.to(at::kCPU).contiguous()), K(ids.size(0)), B(ids.size(1)), k(ids.size(2)) {}
  std::vector<std::pair<int32_t, float>> candidates(int64_t b) const {
    const auto ids = ids_t.accessor<int32_t, 3>();
    const auto probs = probs_t.accessor<float, 3>();
    const auto w = w_t.accessor<float, 2>();
    std::vector<std::pair<int32_t, float>> out;
    for (int64_t m = 0; m < K; ++m) {
      for (int64_t j = 0; j < k; ++j) {
        const int32_t u = ids[m][b][j];
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
        out.emplace_back(u, acc);
      }
    }
    return out;
  }
};

// Larger value, then smaller id (kernels/cuda/block_argmax.cuh's arg_better).
void arg_better(float& v, int64_t& i, float ov, int64_t oi) {
  if (ov > v || (ov == v && oi < i)) {
    v = ov;
    i = oi;
  }
}

double sample_weight(float s, double best, double temperature) {
  return s > 0.f ? std::exp(std::log(static_cast<double>(s) / best) / temperature) : 0.0;
}

void check_sampling(double temperature, const at::Tensor& uniforms, int64_t B, const at::Device& device) {
  RLAE_CHECK(temperature > 0 && std::isfinite(temperature), "mix sample: temperature must be > 0, got ", temperature);
  RLAE_CHECK(uniforms.dim() == 1 && uniforms.size(0) == B && uniforms.scalar_type() == at::kDouble,
             "mix sample: uniforms must be [", B, "] float64, got ", uniforms.sizes(), " ", uniforms.scalar_type());
  RLAE_CHECK(uniforms.device() == device, "mix sample: uniforms on ", uniforms.device(), " but the inputs on ", device);
}

}  // namespace

MixResult mix_sparse_argmax_cpu(const at::Tensor& ids, const at::Tensor& probs, const at::Tensor& weights) {
  check_sparse(ids, probs, weights);
  const SparseRows rows(ids, probs, weights);
  MixResult out{at::empty({rows.B}, at::kLong), at::empty({rows.B}, at::kFloat)};
  auto tok = out.token.accessor<int64_t, 1>();
  auto val = out.prob.accessor<float, 1>();
  for (int64_t b = 0; b < rows.B; ++b) {
    float best = -1.f;
    int64_t best_id = std::numeric_limits<int64_t>::max();
    for (const auto& [u, s] : rows.candidates(b)) arg_better(best, best_id, s, u);
    tok[b] = best_id;
    val[b] = best;
  }
  return out;
}

MixResult mix_sparse_sample_cpu(const at::Tensor& ids, const at::Tensor& probs, const at::Tensor& weights,
                                double temperature, const at::Tensor& uniforms) {
  check_sparse(ids, probs, weights);
  check_sampling(temperature, uniforms, ids.size(1), ids.device());
  const SparseRows rows(ids, probs, weights);
  const at::Tensor u_t = uniforms.to(at::kCPU).contiguous();
  const double* u = u_t.data_ptr<double>();
  MixResult out{at::empty({rows.B}, at::kLong), at::empty({rows.B}, at::kFloat)};
  auto tok = out.token.accessor<int64_t, 1>();
  auto val = out.prob.accessor<float, 1>();
  for (int64_t b = 0; b < rows.B; ++b) {
    const auto cand = rows.candidates(b);
    float best = -1.f;
    int64_t best_id = std::numeric_limits<int64_t>::max();
    for (const auto& [id, s] : cand) arg_better(best, best_id, s, id);
    tok[b] = best_id;
    val[b] = best;
    if (best <= 0.f) continue;
    double total = 0;
    for (const auto& c : cand) total += sample_weight(c.second, best, temperature);
    const double threshold = u[b] * total;
    double acc = 0;
    for (const auto& [id, s] : cand) {
      acc += sample_weight(s, best, temperature);
      if (s > 0.f) {  // the last positive candidate when rounding leaves the threshold past the sum
        tok[b] = id;
        val[b] = s;
      }
      if (threshold < acc && s > 0.f) break;
    }
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
  (void)V;
  return {argmax_smallest_id(mixed), std::get<0>(mixed.max(1))};
}

MixResult mix_dense_sample_cpu(const at::Tensor& probs_in, const at::Tensor& weights_in, double temperature,
                               const at::Tensor& uniforms) {
  check_inputs(probs_in, weights_in);
  check_sampling(temperature, uniforms, probs_in.size(1), probs_in.device());
  const at::Tensor probs = probs_in.to(at::kCPU).contiguous();
  const at::Tensor weights = weights_in.to(at::kCPU).contiguous();
  const int64_t K = probs.size(0), B = probs.size(1), V = probs.size(2);
  at::Tensor mixed = at::zeros({B, V}, probs.options());
  for (int64_t k = 0; k < K; ++k) mixed.add_(probs[k].mul(weights.select(1, k).unsqueeze(1)));
  MixResult out{argmax_smallest_id(mixed), std::get<0>(mixed.max(1))};
  const at::Tensor u_t = uniforms.to(at::kCPU).contiguous();
  const auto mx = mixed.accessor<float, 2>();
  auto tok = out.token.accessor<int64_t, 1>();
  auto val = out.prob.accessor<float, 1>();
  const int64_t chunk = (V + kSampleChunks - 1) / kSampleChunks;
  for (int64_t b = 0; b < B; ++b) {
    const double best = val[b];
    if (best <= 0) continue;
    std::vector<double> sums(static_cast<size_t>(kSampleChunks), 0.0);
    for (int64_t c = 0; c < kSampleChunks; ++c) {
      for (int64_t v = c * chunk; v < std::min(V, (c + 1) * chunk); ++v) sums[c] += sample_weight(mx[b][v], best, temperature);
    }
    double total = 0;
    for (double x : sums) total += x;
    const double threshold = u_t.data_ptr<double>()[b] * total;
    double acc = 0;
    for (int64_t c = 0; c < kSampleChunks; ++c) {
      if (threshold < acc + sums[c] || c == kSampleChunks - 1) {
        for (int64_t v = c * chunk; v < std::min(V, (c + 1) * chunk); ++v) {
          acc += sample_weight(mx[b][v], best, temperature);
          if (threshold < acc && mx[b][v] > 0.f) {
            tok[b] = v;
            break;
          }
        }
        break;
      }
      acc += sums[c];
    }
    val[b] = mx[b][tok[b]];
  }
  return out;
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

at::Tensor argmax_smallest_id(const at::Tensor& x) {
  RLAE_CHECK(x.dim() == 2 && x.size(1) > 0, "argmax_smallest_id: expects [rows, V] with V > 0, got ", x.sizes());
  const int64_t V = x.size(1);
  const at::Tensor best = std::get<0>(x.max(1, /*keepdim=*/true));
  const at::Tensor ids = at::arange(V, x.options().dtype(at::kLong)).unsqueeze(0);
  return at::where(x.eq(best), ids, at::full({}, V, ids.options())).amin(1);
}

MixResult mix_dense_sample(const at::Tensor& probs, const at::Tensor& weights, double temperature,
                           const at::Tensor& uniforms) {
  if (probs.device().is_cpu()) return mix_dense_sample_cpu(probs, weights, temperature, uniforms);
#ifdef RLAE_WITH_CUDA
  check_inputs(probs, weights);
  check_sampling(temperature, uniforms, probs.size(1), probs.device());
  const at::Tensor p = probs.contiguous(), w = weights.contiguous(), u = uniforms.contiguous();
  const int64_t K = p.size(0), B = p.size(1), V = p.size(2);
  MixResult out{at::empty({B}, p.options().dtype(at::kLong)), at::empty({B}, p.options())};
  cuda::mix_dense_sample(p.data_ptr<float>(), w.data_ptr<float>(), static_cast<int>(K), static_cast<int>(B), V,
                         temperature, u.data_ptr<double>(), out.token.data_ptr<int64_t>(), out.prob.data_ptr<float>(),
                         current_stream(p));
  return out;
#else
  RLAE_FAIL("mix_dense_sample: tensors on ", probs.device(),
            " but this rlae was built without CUDA (configure with -DRLAE_CUDA=ON)");
#endif
}

MixResult mix_sparse_sample(const at::Tensor& ids, const at::Tensor& probs, const at::Tensor& weights,
                            double temperature, const at::Tensor& uniforms) {
  if (ids.device().is_cpu()) return mix_sparse_sample_cpu(ids, probs, weights, temperature, uniforms);
#ifdef RLAE_WITH_CUDA
  check_sparse(ids, probs, weights);
  check_sampling(temperature, uniforms, ids.size(1), ids.device());
  const at::Tensor i = ids.contiguous(), p = probs.contiguous(), w = weights.contiguous(), u = uniforms.contiguous();
  const int64_t K = i.size(0), B = i.size(1), k = i.size(2);
  MixResult out{at::empty({B}, p.options().dtype(at::kLong)), at::empty({B}, p.options())};
  cuda::mix_sparse_sample(i.data_ptr<int32_t>(), p.data_ptr<float>(), w.data_ptr<float>(), static_cast<int>(K),
                          static_cast<int>(B), static_cast<int>(k), temperature, u.data_ptr<double>(),
                          out.token.data_ptr<int64_t>(), out.prob.data_ptr<float>(), current_stream(p));
  return out;
#else
  RLAE_FAIL("mix_sparse_sample: tensors on ", ids.device(),
            " but this rlae was built without CUDA (configure with -DRLAE_CUDA=ON)");
#endif
}

}  // namespace rlae::kernels
