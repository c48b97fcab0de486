// NCCL backend of the Communicator (device buffers). Compiled when RLAE_CUDA is on.
#include "actors/communicator.h"
#include "common/check.h"
#include "common/mpi_env.h"

#ifdef RLAE_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#include <nccl.h>
#include <unistd.h>

#include "kernels/cuda/cuda_check.cuh"

// Checks an NCCL return code: the call, host, file, line and NCCL's last error.
#define RLAE_NCCL_CHECK(call)                                                          \
  do {                                                                                 \
    const ncclResult_t rlae_nccl_rc_ = (call);                                         \
    if (rlae_nccl_rc_ != ncclSuccess) {                                                \
      char rlae_host_[256] = {0};                                                      \
      ::gethostname(rlae_host_, sizeof(rlae_host_) - 1);                               \
      ::rlae::detail::throw_error(::rlae::detail::str_cat(                             \
          "NCCL error on ", rlae_host_, ": ", #call, " failed: ",                       \
          ncclGetErrorString(rlae_nccl_rc_), " (", ncclGetLastError(nullptr), ") (",   \
          __FILE__, ":", __LINE__, ")"));                                              \
    }                                                                                  \
  } while (0)
#endif

namespace rlae {

#ifdef RLAE_WITH_CUDA
namespace {

ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case DType::f32: return ncclFloat32;
    case DType::f64: return ncclFloat64;
    case DType::i32: return ncclInt32;
    case DType::i64: return ncclInt64;
    case DType::u8: return ncclUint8;
  }
  RLAE_ASSERT(false, "unknown DType ", static_cast<int>(t));
  return ncclFloat32;
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(MPI_Comm comm, int device) : device_(device) {
    RLAE_MPI_CHECK(MPI_Comm_rank(comm, &rank_));
    RLAE_MPI_CHECK(MPI_Comm_size(comm, &size_));
    ncclUniqueId id;
    if (rank_ == 0) RLAE_NCCL_CHECK(ncclGetUniqueId(&id));
    RLAE_MPI_CHECK(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, comm));
    int visible = 0;
    RLAE_CUDA_CHECK(cudaGetDeviceCount(&visible));
    RLAE_CHECK(device_ >= 0 && device_ < visible, "NCCL communicator: device cuda:", device_,
               " is not among the ", visible, " visible GPUs");
    RLAE_CUDA_CHECK(cudaSetDevice(device_));
    RLAE_NCCL_CHECK(ncclCommInitRank(&comm_, size_, id, rank_));
  }
  ~NcclCommunicator() override {
    if (comm_ != nullptr) ncclCommDestroy(comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* backend() const override { return "nccl"; }
  bool device_buffers() const override { return true; }
  int device_index() const override { return device_; }

  void all_reduce_sum(void* buf, size_t count, DType dtype) override {
    const c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_));
    const cudaStream_t s = stream();
    RLAE_NCCL_CHECK(ncclAllReduce(buf, buf, count, nccl_type(dtype), ncclSum, comm_, s));
    sync(s);
  }
  void all_gather(const void* send, void* recv, size_t count, DType dtype) override {
    const c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_));
    const cudaStream_t s = stream();
    RLAE_NCCL_CHECK(ncclAllGather(send, recv, count, nccl_type(dtype), comm_, s));
    sync(s);
  }
  void broadcast(void* buf, size_t count, DType dtype, int root) override {
    RLAE_CHECK(root >= 0 && root < size_, "broadcast root ", root, " outside [0, ", size_, ")");
    const c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_));
    const cudaStream_t s = stream();
    RLAE_NCCL_CHECK(ncclBroadcast(buf, buf, count, nccl_type(dtype), root, comm_, s));
    sync(s);
  }
  void barrier() override {
    // An all-reduce of one element orders every rank's queued work.
    const c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_));
    const cudaStream_t s = stream();
    int32_t* one = nullptr;
    RLAE_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&one), sizeof(int32_t), s));
    RLAE_CUDA_CHECK(cudaMemsetAsync(one, 0, sizeof(int32_t), s));
    RLAE_NCCL_CHECK(ncclAllReduce(one, one, 1, ncclInt32, ncclSum, comm_, s));
    RLAE_CUDA_CHECK(cudaFreeAsync(one, s));
    sync(s);
  }

 private:
  // LibTorch's current stream on our device: the kernels that filled the buffers ran there.
  cudaStream_t stream() const {
    return c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device_)).stream();
  }
  // The decode loop reads the result right after each exchange.
  static void sync(cudaStream_t s) { RLAE_CUDA_CHECK(cudaStreamSynchronize(s)); }

  int device_ = 0;
  int rank_ = 0;
  int size_ = 1;
  ncclComm_t comm_ = nullptr;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(MPI_Comm comm, int device) {
  return std::make_unique<NcclCommunicator>(comm, device);
}

std::string nccl_version() {
  int v = 0;
  if (ncclGetVersion(&v) != ncclSuccess) return "unknown";
  // NCCL_VERSION_CODE: major*10000 + minor*100 + patch (since 2.9)
  return std::to_string(v / 10000) + "." + std::to_string((v % 10000) / 100) + "." +
         std::to_string(v % 100);
}

#else

std::unique_ptr<Communicator> make_nccl_communicator(MPI_Comm, int) {
  RLAE_FAIL("the NCCL backend needs a build with CUDA (configure with -DRLAE_CUDA=ON)");
}

std::string nccl_version() { return ""; }

#endif

}  // namespace rlae
