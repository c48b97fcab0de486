#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "actors/communicator.h"
#include "comm_conformance.h"
#include "common/check.h"
#include "kernels/device.h"

namespace rlae {
namespace {

// Runs fn(rank, comm) on one thread per rank.
template <typename Fn>
void run_group(int n, Fn fn) {
  auto group = make_inprocess_group(n);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) threads.emplace_back([&, r] { fn(r, *group[r]); });
  for (auto& t : threads) t.join();
}

TEST(InProcessComm, CollectivesMatchTheirDefinition) {
  for (int n : {1, 2, 3, 5}) {
    std::atomic<int> failures{0};
    run_group(n, [&](int r, Communicator& c) {
      EXPECT_EQ(c.rank(), r);
      EXPECT_EQ(c.size(), n);
      for (int iter = 0; iter < 50; ++iter) {  // repeated: buffers reused across collectives
        std::vector<float> f = {1.0f * r, 0.5f};
        c.all_reduce_sum(f.data(), f.size(), DType::f32);
        if (f[0] != n * (n - 1) / 2.0f || f[1] != 0.5f * n) ++failures;
        std::vector<int32_t> mine = {r, r * 10}, all(2 * n);
        c.all_gather(mine.data(), all.data(), 2, DType::i32);
        for (int k = 0; k < n; ++k) {
          if (all[2 * k] != k || all[2 * k + 1] != 10 * k) ++failures;
        }
        int64_t b = r == iter % n ? 1000 + iter : -1;
        c.broadcast(&b, 1, DType::i64, iter % n);
        if (b != 1000 + iter) ++failures;
      }
    });
    EXPECT_EQ(failures.load(), 0) << "n=" << n;
  }
}

TEST(InProcessComm, SumIsInRankOrder) {
  // (1e8 + 1) - 1e8 in float depends on order; rank order is fixed.
  std::vector<float> got(3);
  run_group(3, [&](int r, Communicator& c) {
    float v[1] = {r == 0 ? 1e8f : r == 1 ? 1.0f : -1e8f};
    c.all_reduce_sum(v, 1, DType::f32);
    got[r] = v[0];
  });
  const float expect = (1e8f + 1.0f) + -1e8f;
  for (float g : got) EXPECT_EQ(g, expect);
}

TEST(InProcessComm, AbortWakesWaitersWithAnError) {
  std::atomic<int> errors{0};
  run_group(3, [&](int r, Communicator& c) {
    if (r == 2) {
      group_abort(c, "rank 2 failed to load its member");
      return;
    }
    try {
      c.barrier();
    } catch (const Error& e) {
      if (std::string(e.what()).find("rank 2 failed") != std::string::npos) ++errors;
    }
  });
  EXPECT_EQ(errors.load(), 2);
}

}  // namespace
}  // namespace rlae

// The conformance script (tests/unit/comm_conformance.h) on the in-process backend:
// host buffers always, device buffers on a GPU where one is visible.
namespace rlae {
namespace {

// True when every rank of an n-rank group got the host-computed bytes.
bool run_conformance(int n, int cuda_device) {
  auto group = make_inprocess_group(n, cuda_device);
  const at::Device dev = cuda_device >= 0 ? at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(cuda_device))
                                          : at::Device(at::kCPU);
  std::vector<std::vector<uint8_t>> got(static_cast<size_t>(n));
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] { got[static_cast<size_t>(r)] = testing_conformance::run_script(*group[r], dev); });
  for (auto& t : threads) t.join();
  bool all = true;
  for (int r = 0; r < n; ++r) {
    const bool same = got[static_cast<size_t>(r)] == testing_conformance::expected_script(r, n);
    EXPECT_TRUE(same) << "in-process on " << dev.str() << ", rank " << r << " of " << n;
    all = all && same;
  }
  return all;
}

TEST(CommConformance, InProcessHost) {
  for (int n : {1, 2, 3, 4}) EXPECT_TRUE(run_conformance(n, -1)) << n << " ranks";
}

TEST(CommConformance, InProcessOnGpu) {
  const CudaStatus s = cuda_status();
  if (s.device_count == 0)
    GTEST_SKIP() << (s.compiled ? "no GPU visible (" + s.driver + ")" : std::string("built without CUDA"));
  for (int n : {1, 3}) EXPECT_TRUE(run_conformance(n, 0)) << n << " ranks";
}

}  // namespace
}  // namespace rlae
