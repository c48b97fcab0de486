// libFuzzer target for the HDF5 replay shard reader (learner/replay.cpp:
// read_replay_shard, behind rlae replay inspect|export|train).
//
//   tests/fuzz/run.sh replay [SECONDS]
//
// An input is either a shard file's bytes (when it starts with the frame's
// text, "rlae replay shard; ...") or an HDF5 image, which the target frames (size,
// CRC-32) before writing it: the first kind exercises the frame check, the
// second gets every mutation through it to libhdf5 and the reader behind it. It
// must read as a complete, valid trajectory batch or throw rlae::Error naming
// the file. A crash, a sanitizer report in this process, an allocation beyond
// the fuzzer's memory limit, a hang or another exception is a finding. libhdf5
// parses in a child process (learner/replay.cpp read_isolated): its own crashes
// and sanitizer reports there end the child, which the reader reports as an
// error naming the file; the child's reports still reach the log (run.sh counts
// them as "contained"). libFuzzer does not see the child's coverage: the
// target is guided by the frame check, the reply and the batch's decoding in
// this process; libhdf5's parse gets the mutations unguided. Kept inputs: tests/fixtures/fuzz/replay-chunk-overflow.h5,
// replay-metadata-size.h5, replay-attr-use-after-free.h5 (libhdf5 1.10.8 reading
// freed memory in H5Aexists on a forged object header; tests/unit/test_input_checks.cpp).
// The corpus is seeded with a shard written by write_replay_shard and its bare
// HDF5 image when empty.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <string>

#include "common/check.h"
#include "common/fs.h"
#include "common/wire.h"
#include "common/trajectory.h"
#include "learner/replay.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

rlae::TrajectoryBatch small_batch() {
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
  return b;
}

void seed_corpus(const std::string& dir) {
  if (!fuzz::empty_corpus_dir(dir)) return;
  rlae::ShardInfo info;
  info.config_hash = "0123456789abcdef";
  info.run_id = "fuzz";
  info.algo = "mappo";
  info.iteration = 3;
  try {
    rlae::write_replay_shard(dir + "/seed-shard.h5", small_batch(), info);
    fuzz::write_bytes(dir + "/seed-image.h5", rlae::read_file(dir + "/seed-shard.h5").substr(rlae::kShardFrameBytes));
  } catch (const rlae::Error& e) {
    std::fprintf(stderr, "fuzz_replay: could not write the seed shard: %s\n", e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  at::set_num_threads(1);
  if (const char* dir = fuzz::corpus_dir(*argc, *argv)) seed_corpus(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = fuzz::scratch_path("replay", ".h5");
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (bytes.rfind("rlae replay shard; ", 0) != 0) {  // an HDF5 image: frame it
    char line[128];
    std::snprintf(line, sizeof line, "rlae replay shard; frame 1; bytes %zu; crc32 %08x\n", bytes.size(),
                  static_cast<unsigned>(rlae::wire::crc32(bytes.data(), bytes.size())));
    std::string framed = line;
    framed.resize(rlae::kShardFrameBytes, '\0');
    bytes = framed + bytes;
  }
  fuzz::write_bytes(path, bytes);
  try {
    rlae::ShardInfo info;
    const rlae::TrajectoryBatch b = rlae::read_replay_shard(path, &info);
    b.validate();  // the reader validated it: must not throw now
  } catch (const rlae::Error&) {
  }
  return 0;
}
