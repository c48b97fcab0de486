// Host values through device-buffer communicators (see communicator.h).
#include <ATen/ATen.h>

#include "actors/communicator.h"

namespace rlae {
namespace {

at::TensorOptions staging(const Communicator& comm) {
  return at::TensorOptions().dtype(at::kLong).device(
      at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(comm.device_index())));
}

}  // namespace

void all_gather_host(Communicator& comm, const int64_t* send, int64_t* recv, size_t count) {
  if (!comm.device_buffers()) {
    comm.all_gather(send, recv, count, DType::i64);
    return;
  }
  const auto n = static_cast<int64_t>(count);
  const at::Tensor mine = at::from_blob(const_cast<int64_t*>(send), {n}, at::kLong).to(staging(comm));
  at::Tensor all = at::empty({n * comm.size()}, staging(comm));
  comm.all_gather(mine.data_ptr(), all.data_ptr(), count, DType::i64);
  const at::Tensor host = all.cpu();
  std::copy(host.data_ptr<int64_t>(), host.data_ptr<int64_t>() + n * comm.size(), recv);
}

int64_t broadcast_host(Communicator& comm, int64_t value, int root) {
  if (!comm.device_buffers()) {
    comm.broadcast(&value, 1, DType::i64, root);
    return value;
  }
  at::Tensor buf = at::full({1}, value, staging(comm));
  comm.broadcast(buf.data_ptr(), 1, DType::i64, root);
  return buf.item<int64_t>();
}

}  // namespace rlae
