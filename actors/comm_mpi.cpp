#include <cstdint>

#include "actors/communicator.h"
#include "common/check.h"
#include "common/mpi_env.h"

namespace rlae {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::i32: return 4;
    case DType::i64: return 8;
    case DType::u8: return 1;
  }
  RLAE_ASSERT(false, "unknown DType ", static_cast<int>(t));
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
    case DType::u8: return "u8";
  }
  return "?";
}

namespace {

MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::f32: return MPI_FLOAT;
    case DType::f64: return MPI_DOUBLE;
    case DType::i32: return MPI_INT32_T;
    case DType::i64: return MPI_INT64_T;
    case DType::u8: return MPI_UINT8_T;
  }
  RLAE_ASSERT(false, "unknown DType ", static_cast<int>(t));
  return MPI_DATATYPE_NULL;
}

int mpi_count(size_t count) {
  RLAE_CHECK(count <= static_cast<size_t>(INT32_MAX), "MPI collective of ", count,
             " elements exceeds the 2^31-1 limit of one call");
  return static_cast<int>(count);
}

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm) {
    RLAE_MPI_CHECK(MPI_Comm_dup(comm, &comm_));
    RLAE_MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
    RLAE_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
    RLAE_MPI_CHECK(MPI_Comm_size(comm_, &size_));
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* backend() const override { return "mpi"; }
  bool device_buffers() const override { return false; }

  void all_reduce_sum(void* buf, size_t count, DType dtype) override {
    RLAE_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, buf, mpi_count(count), mpi_type(dtype), MPI_SUM, comm_));
  }
  void all_gather(const void* send, void* recv, size_t count, DType dtype) override {
    RLAE_MPI_CHECK(MPI_Allgather(send, mpi_count(count), mpi_type(dtype), recv, mpi_count(count),
                                 mpi_type(dtype), comm_));
  }
  void broadcast(void* buf, size_t count, DType dtype, int root) override {
    RLAE_CHECK(root >= 0 && root < size_, "broadcast root ", root, " outside [0, ", size_, ")");
    RLAE_MPI_CHECK(MPI_Bcast(buf, mpi_count(count), mpi_type(dtype), root, comm_));
  }
  void barrier() override { RLAE_MPI_CHECK(MPI_Barrier(comm_)); }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator(MPI_Comm comm) {
  return std::make_unique<MpiCommunicator>(comm);
}

}  // namespace rlae
