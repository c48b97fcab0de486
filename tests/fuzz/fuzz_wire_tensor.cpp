// libFuzzer target for the tensor messages of the actor <-> learner wire
// (common/wire_tensor.cpp: decode_params, decode_trajectory, to_tensor), on top
// of the frame decoder that tests/fuzz/fuzz_wire.cpp covers.
//
//   tests/fuzz/run.sh wire_tensor [SECONDS]
//
// An input is one mode byte and a frame, as for the wire target (mode bit 0:
// the frame's size and CRCs are repaired so that mutations reach the message
// checks). A params or trajectory message must decode or throw rlae::Error; one
// that decodes is encoded again (encode_params / encode_trajectory) and must
// decode to the same tensors. A crash, a sanitizer report or another exception
// (c10::Error from LibTorch included) is a finding. The corpus is seeded with a
// params and a trajectory message when empty.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <string>
#include <vector>

#include "common/check.h"
#include "common/trajectory.h"
#include "common/wire.h"
#include "common/wire_tensor.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

void put_le(uint8_t* p, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

void repair(std::vector<uint8_t>& f) {
  if (f.size() < rlae::wire::kHeaderBytes) return;
  const size_t n = f.size() - rlae::wire::kHeaderBytes;
  put_le(f.data() + 24, n, 8);
  put_le(f.data() + 32, rlae::wire::crc32(f.data() + rlae::wire::kHeaderBytes, n), 4);
  put_le(f.data() + 36, rlae::wire::crc32(f.data(), 36), 4);
}

rlae::TrajectoryBatch small_batch() {
  // Two episodes of 1 and 2 steps, 2 agents, obs width 3, K = 2 members.
  rlae::TrajectoryBatch b;
  const int64_t N = 3, A = 2, D = 3, K = 2;
  b.obs = at::arange(N * A * D, at::kFloat).reshape({N, A, D});
  b.share_obs = at::ones({N, K * D}, at::kFloat);
  b.actions = at::full({N, A, 1}, 0.5f, at::kFloat);
  b.logprobs = at::zeros({N, A}, at::kFloat);
  b.weights = at::full({N, K}, 0.5f, at::kFloat);
  b.rewards = at::tensor({1.0f, 0.0f, 0.0f});
  b.dones = at::tensor({1, 0, 1}, at::kByte);
  b.values = at::zeros({N}, at::kFloat);
  b.policy_version = at::zeros({N}, at::kLong);
  b.episode = at::tensor({0, 1, 1}, at::kLong);
  b.span_index = at::tensor({0, 0, 1}, at::kInt);
  b.prompt_id = {"p0", "p1"};
  b.task = {"add", "mul"};
  b.text = {"#### 7", "r\xC3\xA9ponse"};
  b.correct = {1, 0};
  b.info.iteration = 4;
  b.info.tokens = 12;
  return b;
}

void seed_corpus(const char* dir) {
  if (!fuzz::empty_corpus_dir(dir)) return;
  std::vector<std::vector<uint8_t>> frames;
  try {
    frames.push_back(rlae::wire::encode_trajectory(1, 3, small_batch()));
  } catch (const rlae::Error&) {
    // The seed batch does not validate: the corpus gets the params seed only (the
    // fuzzer still runs; its trajectory seeds come from mutations).
  }
  frames.push_back(rlae::wire::encode_params(
      0, 5, {{"agent0.l1.weight", at::ones({4, 3})}, {"agent0.l1.bias", at::zeros({4}, at::kDouble)},
             {"stats", at::arange(6, at::kLong)}}));
  int n = 0;
  for (const auto& frame : frames) {
    for (char mode : {'\0', '\1'}) {
      std::ofstream out(std::string(dir) + "/seed" + std::to_string(n++), std::ios::binary);
      out.put(mode);
      out.write(reinterpret_cast<const char*>(frame.data()), static_cast<std::streamsize>(frame.size()));
    }
  }
}

// The same dtype, shape and bytes (NaN payloads included, which at::equal would call unequal).
bool same(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const at::Tensor x = a.contiguous(), y = b.contiguous();
  return x.nbytes() == y.nbytes() && (x.nbytes() == 0 || std::memcmp(x.data_ptr(), y.data_ptr(), x.nbytes()) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  at::set_num_threads(1);
  if (const char* dir = fuzz::corpus_dir(*argc, *argv)) seed_corpus(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::vector<uint8_t> frame(data + 1, data + size);
  if (data[0] & 1) repair(frame);
  rlae::wire::Message m;
  try {
    m = rlae::wire::decode_message(frame.data(), frame.size());
  } catch (const rlae::Error&) {
    return 0;
  }
  if (m.header.type == rlae::wire::MsgType::params) {
    rlae::wire::NamedTensors p;
    try {
      p = rlae::wire::decode_params(m);
    } catch (const rlae::Error&) {
      return 0;
    }
    const auto again = rlae::wire::encode_params(m.header.sender, m.header.policy_version, p);
    const auto back = rlae::wire::decode_params(rlae::wire::decode_message(again.data(), again.size()));
    if (back.size() != p.size()) std::abort();
    for (size_t i = 0; i < p.size(); ++i)
      if (back[i].first != p[i].first || !same(back[i].second, p[i].second)) std::abort();
  } else if (m.header.type == rlae::wire::MsgType::trajectory) {
    rlae::TrajectoryBatch b;
    try {
      b = rlae::wire::decode_trajectory(m);
    } catch (const rlae::Error&) {
      return 0;
    }
    const auto again = rlae::wire::encode_trajectory(m.header.sender, m.header.policy_version, b);
    const rlae::TrajectoryBatch c = rlae::wire::decode_trajectory(rlae::wire::decode_message(again.data(), again.size()));
    if (!same(b.obs, c.obs) || !same(b.rewards, c.rewards) || !same(b.episode, c.episode) ||
        b.prompt_id != c.prompt_id || b.text != c.text || b.correct != c.correct || b.info.iteration != c.info.iteration)
      std::abort();
  }
  return 0;
}
