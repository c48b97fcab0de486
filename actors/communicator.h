// The per-step exchange inside an ensemble group, behind one interface.
//
// Backends: MPI (host buffers), NCCL (device buffers; built with RLAE_CUDA).
// Every collective is called by all ranks of the group in the same order, as
// MPI requires. Buffers are raw pointers so that the same interface serves
// ATen tensors, pinned host memory and plain cudaMalloc'd device memory.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace rlae {

enum class DType { f32, f64, i32, i64, u8 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual const char* backend() const = 0;
  // True when buffers must live in device memory (NCCL; in-process on a GPU).
  virtual bool device_buffers() const = 0;
  // The CUDA device of the buffers, or -1 for host buffers.
  virtual int device_index() const { return -1; }

  // In place: buf[i] = sum over ranks of buf[i].
  virtual void all_reduce_sum(void* buf, size_t count, DType dtype) = 0;
  // recv holds size() * count elements; rank r's send lands at recv + r * count.
  virtual void all_gather(const void* send, void* recv, size_t count, DType dtype) = 0;
  // buf of `root` is copied to every rank.
  virtual void broadcast(void* buf, size_t count, DType dtype, int root) = 0;
  // Waits until every rank arrives; on device backends also for queued work.
  virtual void barrier() = 0;
};

// In-process: `size` communicators sharing one group, one per thread, so that
// the decode loop that runs one member per MPI rank runs unchanged with one
// member per thread. Sums are taken in rank order (deterministic). When a
// thread fails, group_abort() wakes every rank waiting in a collective with an
// rlae::Error instead of a hang.
// With `cuda_device` >= 0 the buffers are on that GPU (members sharing one GPU in one
// process): copies and sums run there, on the calling thread's current stream.
std::vector<std::unique_ptr<Communicator>> make_inprocess_group(int size, int cuda_device = -1);
void group_abort(Communicator& member_of_group, const std::string& reason);

// MPI on host buffers. Duplicates `comm` (the caller keeps ownership of it).
std::unique_ptr<Communicator> make_mpi_communicator(MPI_Comm comm);

// NCCL on device `device` of this process: rank 0 of `comm` creates the unique
// id and broadcasts it over MPI. Collectives run on LibTorch's current stream of
// that device (so they follow the kernels that wrote the buffers) and are waited
// for before they return. Throws rlae::Error when built without CUDA.
std::unique_ptr<Communicator> make_nccl_communicator(MPI_Comm comm, int device);

// Small host values through any backend (staged on the communicator's device
// when it needs device buffers): set-up exchanges and control signals.
void all_gather_host(Communicator& comm, const int64_t* send, int64_t* recv, size_t count);
int64_t broadcast_host(Communicator& comm, int64_t value, int root);

// The NCCL library version ("2.27.3"), or "" when built without CUDA.
std::string nccl_version();

}  // namespace rlae
