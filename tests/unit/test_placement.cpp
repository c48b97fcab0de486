// --device resolution (kernels/placement.h) for several node layouts.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/check.h"
#include "kernels/placement.h"

namespace rlae {
namespace {

std::string placed(const std::string& request, int local_rank, int visible) {
  return place_device(parse_device_request(request), local_rank, visible, "rank 1 on n1", "no CUDA driver").str();
}

TEST(Placement, ParsesTheRequests) {
  EXPECT_EQ(parse_device_request("auto").kind, DeviceRequest::Kind::automatic);
  EXPECT_EQ(parse_device_request("cpu").kind, DeviceRequest::Kind::cpu);
  EXPECT_EQ(parse_device_request("cuda").kind, DeviceRequest::Kind::cuda);
  EXPECT_EQ(parse_device_request("cuda").index, -1);
  EXPECT_EQ(parse_device_request("cuda:3").index, 3);
  for (const char* bad : {"", "gpu0", "cuda:", "cuda:-1", "cuda:1x", "CUDA", "cuda:123456", "mps"})
    EXPECT_THROW(parse_device_request(bad), UsageError) << bad;
}

TEST(Placement, CpuAndAutoWithoutGpus) {
  EXPECT_EQ(placed("cpu", 0, 0), "cpu");
  EXPECT_EQ(placed("cpu", 3, 8), "cpu");
  EXPECT_EQ(placed("auto", 0, 0), "cpu");
  EXPECT_EQ(placed("auto", 5, 0), "cpu");
}

TEST(Placement, CudaWithoutGpusNamesWhereAndWhy) {
  try {
    placed("cuda", 0, 0);
    FAIL() << "no error";
  } catch (const UsageError&) {
    FAIL() << "a missing GPU is not a bad option value";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("no GPU is visible to rank 1 on n1"), std::string::npos) << m;
    EXPECT_NE(m.find("no CUDA driver"), std::string::npos) << m;
  }
  EXPECT_THROW(placed("cuda:0", 0, 0), Error);
  EXPECT_THROW(placed("cuda:4", 0, 4), Error);  // cuda:0..cuda:3 only
  EXPECT_EQ(placed("cuda:3", 0, 4), "cuda:3");
}

// One node, 1 learner + K actors under mpirun: local ranks 0..K; the actors spread
// over the GPUs and wrap around.
TEST(Placement, OneNodeLayouts) {
  struct Layout {
    int ranks, gpus;
    std::vector<std::string> want;  // by local rank
  };
  const std::vector<Layout> layouts = {
      {4, 4, {"cuda:0", "cuda:1", "cuda:2", "cuda:3"}},
      {4, 1, {"cuda:0", "cuda:0", "cuda:0", "cuda:0"}},  // one GPU: all share it
      {5, 4, {"cuda:0", "cuda:1", "cuda:2", "cuda:3", "cuda:0"}},
      {3, 8, {"cuda:0", "cuda:1", "cuda:2"}},
      {7, 2, {"cuda:0", "cuda:1", "cuda:0", "cuda:1", "cuda:0", "cuda:1", "cuda:0"}},
  };
  for (const Layout& l : layouts)
    for (int r = 0; r < l.ranks; ++r) {
      EXPECT_EQ(placed("auto", r, l.gpus), l.want[static_cast<size_t>(r)]) << l.ranks << " ranks, " << l.gpus << " GPUs";
      EXPECT_EQ(placed("cuda", r, l.gpus), l.want[static_cast<size_t>(r)]);
    }
}

// Two nodes of 4 GPUs, 1 learner + 2 groups of 4 actors (9 ranks; the learner's node
// holds 5): local ranks restart on each node, so no GPU holds two members of a node
// beyond the wrap-around.
TEST(Placement, TwoNodes) {
  const std::vector<int> node = {0, 0, 0, 0, 0, 1, 1, 1, 1};
  std::map<int, int> next_local;
  std::vector<std::string> got;
  for (int n : node) got.push_back(placed("auto", next_local[n]++, 4));
  const std::vector<std::string> want = {"cuda:0", "cuda:1", "cuda:2", "cuda:3", "cuda:0",
                                         "cuda:0", "cuda:1", "cuda:2", "cuda:3"};
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace rlae
