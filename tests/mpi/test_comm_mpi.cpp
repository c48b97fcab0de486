// Real MPI ranks (ctest runs this under mpirun with 2 and 3 ranks): the MPI
// Communicator backend and the dense mixture give every rank the same answer.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <vector>

#include "actors/communicator.h"
#include "common/check.h"
#include "common/mpi_env.h"
#include "kernels/mixture.h"

namespace rlae {
namespace {

class MpiCommTest : public ::testing::Test {
 protected:
  void SetUp() override { comm = make_mpi_communicator(MPI_COMM_WORLD); }
  std::unique_ptr<Communicator> comm;
};

TEST_F(MpiCommTest, RankAndSize) {
  int world = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  EXPECT_EQ(comm->size(), world);
  EXPECT_GE(comm->size(), 2) << "run under mpirun -np >= 2";
  EXPECT_STREQ(comm->backend(), "mpi");
}

TEST_F(MpiCommTest, AllReduceSum) {
  const int r = comm->rank(), n = comm->size();
  std::vector<float> f = {1.0f * r, 2.0f, -0.5f * r};
  comm->all_reduce_sum(f.data(), f.size(), DType::f32);
  const float tri = n * (n - 1) / 2.0f;
  EXPECT_FLOAT_EQ(f[0], tri);
  EXPECT_FLOAT_EQ(f[1], 2.0f * n);
  EXPECT_FLOAT_EQ(f[2], -0.5f * tri);
  std::vector<int64_t> i = {int64_t{1} << 40, r};
  comm->all_reduce_sum(i.data(), i.size(), DType::i64);
  EXPECT_EQ(i[0], (int64_t{1} << 40) * n);
  EXPECT_EQ(i[1], static_cast<int64_t>(tri));
}

TEST_F(MpiCommTest, AllGatherPlacesEachRank) {
  const int r = comm->rank(), n = comm->size();
  // A fixed-size top-k payload: (union id, prob) pairs per rank.
  std::vector<int32_t> ids = {100 * r, 100 * r + 1, 100 * r + 2};
  std::vector<int32_t> all(3 * static_cast<size_t>(n), -1);
  comm->all_gather(ids.data(), all.data(), ids.size(), DType::i32);
  for (int k = 0; k < n; ++k) {
    for (int j = 0; j < 3; ++j) EXPECT_EQ(all[3 * k + j], 100 * k + j);
  }
}

TEST_F(MpiCommTest, BroadcastFromEveryRoot) {
  for (int root = 0; root < comm->size(); ++root) {
    std::vector<double> v = {comm->rank() == root ? 3.25 + root : -1.0};
    comm->broadcast(v.data(), v.size(), DType::f64, root);
    EXPECT_DOUBLE_EQ(v[0], 3.25 + root);
  }
  double x = 0;
  EXPECT_THROW(comm->broadcast(&x, 1, DType::f64, comm->size()), Error);
}

// Each rank holds one member's distribution; after an all-gather every rank
// computes the same mixture and takes the same token, with no leader.
TEST_F(MpiCommTest, GatheredMixtureAgreesOnEveryRank) {
  const int r = comm->rank(), K = comm->size();
  const int64_t B = 4, V = 97;
  at::manual_seed(1234 + r);
  at::Tensor mine = at::softmax(at::randn({B, V}), 1).contiguous();  // [B, V]
  at::Tensor all = at::empty({K, B, V});                             // [K, B, V]
  comm->all_gather(mine.data_ptr<float>(), all.data_ptr<float>(), B * V, DType::f32);
  at::Tensor weights = at::full({B, K}, 1.0f / K);
  const auto res = kernels::mix_dense_argmax(all, weights);
  // Rank 0's choice is broadcast; everyone must already agree with it.
  at::Tensor chosen = res.token.clone();
  comm->broadcast(chosen.data_ptr<int64_t>(), B, DType::i64, 0);
  EXPECT_TRUE(at::equal(chosen, res.token));
  EXPECT_TRUE(at::allclose(all[r], mine));
}

}  // namespace
}  // namespace rlae

int main(int argc, char** argv) {
  rlae::MpiSession mpi(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  // Only rank 0 prints the per-test report; every rank still runs and fails on its own.
  if (mpi.topology().rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS();
  // The job fails when any rank failed.
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return failed;
}
