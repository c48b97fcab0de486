// Trajectory batches for the wire and channel tests: deterministic contents
// from a seed, and a checksum over every field.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#include "common/trajectory.h"
#include "common/wire.h"

namespace rlae::testing {

// N span steps over E episodes (E <= N, E > 0 when N > 0), A agents.
inline TrajectoryBatch make_batch(uint64_t seed, int64_t N, int64_t E, int64_t A = 3, int64_t obs_dim = 16,
                                  int64_t share_dim = 24, int64_t act_dim = 3, int64_t K = 3) {
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  auto next = [&s]() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<float>((s >> 40) & 0xFFFFFF) / 16777216.0f - 0.5f;
  };
  auto fill = [&](std::initializer_list<int64_t> shape) {
    at::Tensor t = at::empty(shape, at::kFloat);
    float* p = t.data_ptr<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = next();
    return t;
  };
  TrajectoryBatch b;
  b.obs = fill({N, A, obs_dim});
  b.share_obs = fill({N, share_dim});
  b.actions = fill({N, A, act_dim}).abs();
  b.logprobs = fill({N, A});
  b.weights = at::softmax(fill({N, K}), 1);
  b.rewards = fill({N});
  b.values = fill({N});
  b.dones = at::zeros({N}, at::kByte);
  b.policy_version = at::full({N}, static_cast<int64_t>(seed % 7), at::kLong);
  b.episode = at::empty({N}, at::kLong);
  b.span_index = at::empty({N}, at::kInt);
  int64_t* episode = b.episode.data_ptr<int64_t>();
  int32_t* span_index = b.span_index.data_ptr<int32_t>();
  uint8_t* dones = b.dones.data_ptr<uint8_t>();
  int64_t prev = -1, span = 0;
  for (int64_t i = 0; i < N; ++i) {
    const int64_t e = i * E / N;
    span = e == prev ? span + 1 : 0;
    prev = e;
    episode[i] = e;
    span_index[i] = static_cast<int32_t>(span);
    if (i + 1 == N || (i + 1) * E / N != e) dones[i] = 1;
  }
  for (int64_t e = 0; e < E; ++e) {
    b.prompt_id.push_back("p" + std::to_string(seed) + "-" + std::to_string(e));
    b.task.push_back(e % 2 ? "gsm8k" : "arc");
    std::string text = "r\xC3\xA9ponse \xE2\x9C\x93 ";
    for (uint64_t k = 0; k < (seed + e) % 13; ++k) text += std::to_string(k * seed) + " ";
    b.text.push_back(text);
    b.correct.push_back(static_cast<uint8_t>((seed + e) % 2));
  }
  return b;
}

// CRC-32 over every field's bytes and every string, in a fixed order.
inline uint32_t batch_checksum(const TrajectoryBatch& b) {
  uint32_t c = 0;
  for (const at::Tensor* t : {&b.obs, &b.share_obs, &b.actions, &b.logprobs, &b.weights, &b.rewards, &b.dones,
                              &b.values, &b.policy_version, &b.episode, &b.span_index}) {
    const at::Tensor x = t->contiguous();
    c = wire::crc32(x.data_ptr(), x.nbytes(), c);
    for (int64_t d : x.sizes()) c = wire::crc32(&d, sizeof(d), c);
  }
  for (const auto* v : {&b.prompt_id, &b.task, &b.text}) {
    for (const std::string& s : *v) c = wire::crc32(s.data(), s.size() + 1, c);
  }
  return wire::crc32(b.correct.data(), b.correct.size(), c);
}

}  // namespace rlae::testing
