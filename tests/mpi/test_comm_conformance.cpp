// The communicator conformance script (tests/unit/comm_conformance.h) on real
// MPI ranks: the MPI backend always, NCCL with one rank per GPU where there are
// enough GPUs (skipped with the reason elsewhere). Same bytes as in-process.
#include <gtest/gtest.h>
#include <mpi.h>

#include "actors/communicator.h"
#include "comm_conformance.h"
#include "kernels/device.h"

namespace rlae {
namespace {

TEST(CommConformance, Mpi) {
  auto comm = make_mpi_communicator(MPI_COMM_WORLD);
  EXPECT_FALSE(comm->device_buffers());
  EXPECT_TRUE(testing_conformance::run_script(*comm, at::kCPU) ==
              testing_conformance::expected_script(comm->rank(), comm->size()))
      << "MPI backend, rank " << comm->rank() << " of " << comm->size();
}

TEST(CommConformance, Nccl) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const CudaStatus s = cuda_status();
  if (!s.compiled) GTEST_SKIP() << "built without CUDA: no NCCL backend";
  if (s.device_count < size)
    GTEST_SKIP() << "NCCL needs one GPU per rank: " << size << " ranks, " << s.device_count << " GPUs visible ("
                 << (s.device_count == 0 ? s.driver : std::string("run with -np <= GPUs")) << ")";
  auto comm = make_nccl_communicator(MPI_COMM_WORLD, rank);
  EXPECT_TRUE(comm->device_buffers());
  EXPECT_EQ(comm->device_index(), rank);
  const at::Device dev(at::kCUDA, static_cast<c10::DeviceIndex>(rank));
  EXPECT_TRUE(testing_conformance::run_script(*comm, dev) == testing_conformance::expected_script(rank, size))
      << "NCCL backend, rank " << rank << " of " << size;
}

}  // namespace
}  // namespace rlae
