// The dense mixture kernel: CPU reference against a naive loop, and CUDA against
// the CPU reference on fresh random inputs (where a GPU is visible).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <random>
#include <vector>

#include "common/check.h"
#include "kernels/mixture.h"
#include "kernels/topk_union.h"

namespace rlae {
namespace {

// Naive reference: explicit loops in float, same summation order.
std::pair<std::vector<int64_t>, std::vector<float>> naive_mix(const at::Tensor& probs,
                                                             const at::Tensor& weights) {
  const int64_t K = probs.size(0), B = probs.size(1), V = probs.size(2);
  auto p = probs.accessor<float, 3>();
  auto w = weights.accessor<float, 2>();
  std::vector<int64_t> tok(B);
  std::vector<float> val(B);
  for (int64_t b = 0; b < B; ++b) {
    float best = -1;
    int64_t best_id = -1;
    for (int64_t v = 0; v < V; ++v) {
      float acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        const float prod = p[k][b][v] * w[b][k];
        acc = acc + prod;
      }
      if (acc > best) {  // strict: the first (smallest) id wins ties
        best = acc;
        best_id = v;
      }
    }
    tok[b] = best_id;
    val[b] = best;
  }
  return {tok, val};
}

TEST(Mixture, CpuMatchesNaiveLoop) {
  at::manual_seed(7);
  for (int64_t K : {1, 2, 3, 5}) {
    const int64_t B = 6, V = 301;
    at::Tensor probs = at::softmax(at::randn({K, B, V}) * 3, 2);
    at::Tensor weights = at::rand({B, K});
    const auto res = kernels::mix_dense_argmax(probs, weights);
    const auto ref = naive_mix(probs, weights);
    for (int64_t b = 0; b < B; ++b) {
      EXPECT_EQ(res.token[b].item<int64_t>(), ref.first[b]) << "K=" << K << " b=" << b;
      EXPECT_EQ(res.prob[b].item<float>(), ref.second[b]) << "K=" << K << " b=" << b;
    }
  }
}

TEST(Mixture, TiesGoToTheSmallestId) {
  at::Tensor probs = at::zeros({2, 1, 8});
  probs[0][0][5] = 0.5f;
  probs[1][0][2] = 0.5f;  // equal merged value at ids 2 and 5
  at::Tensor weights = at::full({1, 2}, 0.5f);
  EXPECT_EQ(kernels::mix_dense_argmax(probs, weights).token[0].item<int64_t>(), 2);
}

TEST(Mixture, OneHotWeightsPickThatMember) {
  at::manual_seed(3);
  at::Tensor probs = at::softmax(at::randn({3, 4, 50}), 2);
  at::Tensor weights = at::zeros({4, 3});
  weights.select(1, 1).fill_(1.0f);
  const auto res = kernels::mix_dense_argmax(probs, weights);
  EXPECT_TRUE(at::equal(res.token, probs[1].argmax(1)));
}

TEST(Mixture, BadShapesAreUserErrors) {
  EXPECT_THROW(kernels::mix_dense_argmax(at::rand({2, 3}), at::rand({3, 2})), Error);
  EXPECT_THROW(kernels::mix_dense_argmax(at::rand({2, 3, 4}), at::rand({3, 3})), Error);
  EXPECT_THROW(kernels::mix_dense_argmax(at::rand({2, 3, 4}, at::kDouble), at::rand({3, 2})), Error);
}

TEST(TopKUnion, MatchesSortedSoftmaxAndMapsIds) {
  at::manual_seed(11);
  const int64_t B = 5, V = 400, k = 16;
  at::Tensor logits = at::randn({B, V}) * 2;
  logits[1].fill_(0.5f);  // all tied: ids 0..k-1 in order
  at::Tensor map = (at::arange(V, at::kInt) * 3 + 7).to(at::kInt);
  const auto out = kernels::softmax_topk_union(logits, map, k);
  ASSERT_EQ(out.ids.sizes(), (at::IntArrayRef{B, k}));
  at::Tensor p = at::softmax(logits, 1);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<std::pair<float, int64_t>> all;
    for (int64_t v = 0; v < V; ++v) all.push_back({p[b][v].item<float>(), v});
    std::stable_sort(all.begin(), all.end(), [](auto& x, auto& y) { return x.first > y.first; });
    for (int64_t j = 0; j < k; ++j) {
      EXPECT_EQ(out.ids[b][j].item<int32_t>(), all[j].second * 3 + 7) << "b=" << b << " j=" << j;
      EXPECT_EQ(out.probs[b][j].item<float>(), all[j].first);
    }
  }
  EXPECT_THROW(kernels::softmax_topk_union(logits, map, V + 1), Error);
  EXPECT_THROW(kernels::softmax_topk_union(logits, map.slice(0, 0, 10), k), Error);
}

TEST(MixSparse, FullTopKEqualsDense) {
  // With k = V and the identity map, the sparse merge is the dense merge.
  at::manual_seed(5);
  const int64_t K = 3, B = 4, V = 64;
  at::Tensor logits = at::randn({K, B, V});
  at::Tensor map = at::arange(V, at::kInt);
  std::vector<at::Tensor> ids, probs;
  for (int64_t m = 0; m < K; ++m) {
    auto t = kernels::softmax_topk_union(logits[m], map, V);
    ids.push_back(t.ids);
    probs.push_back(t.probs);
  }
  at::Tensor w = at::rand({B, K});
  const auto sparse = kernels::mix_sparse_argmax(at::stack(ids), at::stack(probs), w);
  const auto dense = kernels::mix_dense_argmax(at::softmax(logits, 2), w);
  EXPECT_TRUE(at::equal(sparse.token, dense.token));
  EXPECT_TRUE(at::allclose(sparse.prob, dense.prob, 1e-6, 1e-7));
}

TEST(MixSparse, UnionOfTopKWithMissingEntries) {
  // Member 0 proposes {10: .6, 20: .3}, member 1 proposes {20: .5, 30: .4}.
  at::Tensor ids = at::tensor({10, 20, 20, 30}, at::kInt).view({2, 1, 2});
  at::Tensor probs = at::tensor({0.6f, 0.3f, 0.5f, 0.4f}).view({2, 1, 2});
  // Equal weights: 10 -> .3, 20 -> .4, 30 -> .2
  auto r = kernels::mix_sparse_argmax(ids, probs, at::full({1, 2}, 0.5f));
  EXPECT_EQ(r.token[0].item<int64_t>(), 20);
  EXPECT_FLOAT_EQ(r.prob[0].item<float>(), 0.4f);
  // Member 0 only.
  r = kernels::mix_sparse_argmax(ids, probs, at::tensor({1.0f, 0.0f}).view({1, 2}));
  EXPECT_EQ(r.token[0].item<int64_t>(), 10);
  // A tie (10 -> .3, 30 -> .3 with weights .5/.75): smallest union id wins.
  probs = at::tensor({0.6f, 0.0f, 0.0f, 0.4f}).view({2, 1, 2});
  r = kernels::mix_sparse_argmax(ids, probs, at::tensor({0.5f, 0.75f}).view({1, 2}));
  EXPECT_EQ(r.token[0].item<int64_t>(), 10);
  EXPECT_THROW(kernels::mix_sparse_argmax(ids, probs, at::full({2, 2}, 0.5f)), Error);
}

// Temperature sampling, checked by quadrature: with u on a regular grid of n
// points, each token is drawn n * w_i / sum(w) times (+-1), where
// w_i = (merged_i / max)^(1/T); at a tiny temperature the draw is the argmax.
void expect_tempered_counts(const at::Tensor& merged_row, const std::vector<int64_t>& drawn, double T) {
  const int64_t n = static_cast<int64_t>(drawn.size());
  const at::Tensor m = merged_row.to(at::kDouble);
  const double best = m.max().item<double>();
  const at::Tensor w = at::where(m.gt(0), (m / best).pow(1.0 / T), at::zeros_like(m));
  const at::Tensor expect = w / w.sum() * static_cast<double>(n);
  std::vector<int64_t> count(static_cast<size_t>(m.size(0)), 0);
  for (int64_t t : drawn) {
    ASSERT_GE(t, 0);
    ASSERT_LT(t, m.size(0));
    ++count[static_cast<size_t>(t)];
  }
  for (int64_t v = 0; v < m.size(0); ++v) {
    EXPECT_NEAR(static_cast<double>(count[static_cast<size_t>(v)]), expect[v].item<double>(), 1.01) << "token " << v;
  }
}

TEST(MixSample, DenseDrawsTheTemperedMergedDistribution) {
  at::manual_seed(5);
  const int64_t K = 3, V = 700, n = 4000;  // V > kSampleChunks: several ids per chunk
  at::Tensor probs = at::softmax(at::randn({K, 1, V}) * 2, 2);
  const at::Tensor w = at::tensor({0.5f, 0.3f, 0.2f}).view({1, K});
  const kernels::MixResult merged = kernels::mix_dense_argmax_cpu(probs, w);
  at::Tensor mixed = at::zeros({V});
  for (int64_t k = 0; k < K; ++k) mixed.add_(probs[k][0].mul(w[0][k]));
  for (double T : {1.0, 0.5, 2.0}) {
    std::vector<int64_t> drawn;
    for (int64_t i = 0; i < n; ++i) {
      const at::Tensor u = at::full({1}, (static_cast<double>(i) + 0.5) / n, at::kDouble);
      drawn.push_back(kernels::mix_dense_sample_cpu(probs.expand({K, 1, V}), w, T, u).token.item<int64_t>());
    }
    expect_tempered_counts(mixed, drawn, T);
  }
  // A tiny temperature is the argmax; the merged value of the draw is reported.
  const auto s = kernels::mix_dense_sample_cpu(probs, w, 1e-4, at::full({1}, 0.7, at::kDouble));
  EXPECT_EQ(s.token.item<int64_t>(), merged.token.item<int64_t>());
  EXPECT_EQ(s.prob.item<float>(), merged.prob.item<float>());
}

TEST(MixSample, SparseDrawsTheTemperedMergedCandidates) {
  // Two members, overlapping top-3: union ids 4, 9, 2 (member 0) and 9, 7, 4 (member 1).
  const at::Tensor ids = at::tensor({4, 9, 2, 9, 7, 4}, at::kInt).view({2, 1, 3});
  const at::Tensor probs = at::tensor({0.5f, 0.3f, 0.2f, 0.6f, 0.3f, 0.1f}).view({2, 1, 3});
  const at::Tensor w = at::tensor({0.25f, 0.75f}).view({1, 2});
  at::Tensor merged = at::zeros({10});
  merged[4] = 0.25f * 0.5f + 0.75f * 0.1f;
  merged[9] = 0.25f * 0.3f + 0.75f * 0.6f;
  merged[2] = 0.25f * 0.2f;
  merged[7] = 0.75f * 0.3f;
  const int64_t n = 2000;
  for (double T : {1.0, 0.7}) {
    std::vector<int64_t> drawn;
    for (int64_t i = 0; i < n; ++i) {
      const at::Tensor u = at::full({1}, (static_cast<double>(i) + 0.5) / n, at::kDouble);
      drawn.push_back(kernels::mix_sparse_sample_cpu(ids, probs, w, T, u).token.item<int64_t>());
    }
    expect_tempered_counts(merged, drawn, T);
  }
  EXPECT_EQ(kernels::mix_sparse_sample_cpu(ids, probs, w, 1e-4, at::full({1}, 0.99, at::kDouble)).token.item<int64_t>(),
            kernels::mix_sparse_argmax_cpu(ids, probs, w).token.item<int64_t>());
}

TEST(MixSample, RefusesBadTemperaturesAndUniforms) {
  const at::Tensor probs = at::softmax(at::randn({2, 3, 5}), 2), w = at::rand({3, 2});
  EXPECT_THROW(kernels::mix_dense_sample_cpu(probs, w, 0.0, at::full({3}, 0.5, at::kDouble)), Error);
  EXPECT_THROW(kernels::mix_dense_sample_cpu(probs, w, 1.0, at::full({2}, 0.5, at::kDouble)), Error);
  EXPECT_THROW(kernels::mix_dense_sample_cpu(probs, w, 1.0, at::full({3}, 0.5, at::kFloat)), Error);
}

TEST(ArgmaxSmallestId, TiesGoToTheSmallestId) {
  const at::Tensor x = at::tensor({1.f, 3.f, 3.f, 2.f, 5.f, 5.f, 5.f, 0.f}).view({2, 4});
  EXPECT_TRUE(at::equal(kernels::argmax_smallest_id(x), at::tensor({1, 0}, at::kLong)));
  EXPECT_TRUE(at::equal(kernels::argmax_smallest_id(x.to(at::kLong)), at::tensor({1, 0}, at::kLong)));
}

}  // namespace
}  // namespace rlae
