// In-process Communicator backend: one group, one thread per rank.
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>

#include <ATen/ATen.h>

#include "actors/communicator.h"
#include "common/check.h"

namespace rlae {
namespace {

struct GroupState {
  explicit GroupState(int n) : size(n), send(n, nullptr) {}
  const int size;
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  uint64_t generation = 0;
  bool aborted = false;
  std::string abort_reason;
  std::vector<const void*> send;  // per rank, valid between the two barriers of a collective

  // Blocks until all ranks arrive (or the group is aborted).
  void barrier() {
    std::unique_lock<std::mutex> lock(mu);
    check_aborted();
    const uint64_t gen = generation;
    if (++arrived == size) {
      arrived = 0;
      ++generation;
      cv.notify_all();
      return;
    }
    cv.wait(lock, [&] { return generation != gen || aborted; });
    check_aborted();
  }
  void check_aborted() const {
    if (aborted) RLAE_FAIL("in-process group aborted: ", abort_reason);
  }
  void abort(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu);
    if (!aborted) abort_reason = reason;
    aborted = true;
    cv.notify_all();
  }
};

class InProcessCommunicator final : public Communicator {
 public:
  InProcessCommunicator(std::shared_ptr<GroupState> g, int rank, int device)
      : g_(std::move(g)), rank_(rank), device_(device) {}

  int rank() const override { return rank_; }
  int size() const override { return g_->size; }
  const char* backend() const override { return "inprocess"; }
  bool device_buffers() const override { return device_ >= 0; }
  int device_index() const override { return device_; }

  void all_reduce_sum(void* buf, size_t count, DType dtype) override {
    post(buf);
    if (device_ >= 0) {
      // On the GPU: the same rank-order sum, as tensors over the posted buffers.
      at::Tensor acc = view(g_->send[0], count, dtype).clone();
      for (int r = 1; r < g_->size; ++r) acc.add_(view(g_->send[r], count, dtype));
      g_->barrier();
      view(buf, count, dtype).copy_(acc);
      return;
    }
    // Every rank sums all contributions in rank order into a private copy, then
    // writes it after the second barrier (others may still be reading `buf`).
    std::vector<unsigned char> acc(count * dtype_size(dtype));
    switch (dtype) {
      case DType::f32: sum<float>(acc.data(), count); break;
      case DType::f64: sum<double>(acc.data(), count); break;
      case DType::i32: sum<int32_t>(acc.data(), count); break;
      case DType::i64: sum<int64_t>(acc.data(), count); break;
      case DType::u8: sum<uint8_t>(acc.data(), count); break;
    }
    g_->barrier();
    std::memcpy(buf, acc.data(), acc.size());
  }

  void all_gather(const void* send, void* recv, size_t count, DType dtype) override {
    post(send);
    const size_t bytes = count * dtype_size(dtype);
    for (int r = 0; r < g_->size; ++r) {
      unsigned char* to = static_cast<unsigned char*>(recv) + r * bytes;
      if (device_ >= 0) {
        view(to, bytes, DType::u8).copy_(view(g_->send[r], bytes, DType::u8));
      } else {
        std::memcpy(to, g_->send[r], bytes);
      }
    }
    g_->barrier();
  }

  void broadcast(void* buf, size_t count, DType dtype, int root) override {
    RLAE_CHECK(root >= 0 && root < g_->size, "broadcast root ", root, " outside [0, ", g_->size, ")");
    post(buf);
    if (rank_ != root) {
      const size_t bytes = count * dtype_size(dtype);
      if (device_ >= 0) {
        view(buf, bytes, DType::u8).copy_(view(g_->send[root], bytes, DType::u8));
      } else {
        std::memcpy(buf, g_->send[root], bytes);
      }
    }
    g_->barrier();
  }

  void barrier() override { g_->barrier(); }

  GroupState& group() { return *g_; }

  // A device tensor over `count` elements at `p` (no copy).
  at::Tensor view(const void* p, size_t count, DType dtype) const {
    static const at::ScalarType types[] = {at::kFloat, at::kDouble, at::kInt, at::kLong, at::kByte};
    return at::from_blob(const_cast<void*>(p), {static_cast<int64_t>(count)},
                         at::TensorOptions()
                             .dtype(types[static_cast<int>(dtype)])
                             .device(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device_))));
  }

 private:
  // Publishes this rank's buffer and waits for everyone's.
  void post(const void* p) {
    g_->send[rank_] = p;
    g_->barrier();
  }
  template <typename T>
  void sum(unsigned char* out, size_t count) {
    T* acc = reinterpret_cast<T*>(out);
    std::memcpy(acc, g_->send[0], count * sizeof(T));
    for (int r = 1; r < g_->size; ++r) {
      const T* x = static_cast<const T*>(g_->send[r]);
      for (size_t i = 0; i < count; ++i) acc[i] = static_cast<T>(acc[i] + x[i]);
    }
  }

  std::shared_ptr<GroupState> g_;
  int rank_;
  int device_;  // -1: host buffers
};

}  // namespace

std::vector<std::unique_ptr<Communicator>> make_inprocess_group(int size, int cuda_device) {
  RLAE_CHECK(size >= 1, "in-process group of ", size, " ranks");
  auto g = std::make_shared<GroupState>(size);
  std::vector<std::unique_ptr<Communicator>> out;
  for (int r = 0; r < size; ++r) out.push_back(std::make_unique<InProcessCommunicator>(g, r, cuda_device));
  return out;
}

void group_abort(Communicator& member, const std::string& reason) {
  auto* c = dynamic_cast<InProcessCommunicator*>(&member);
  RLAE_CHECK(c != nullptr, "group_abort: the ", member.backend(), " backend ends with the process instead");
  c->group().abort(reason);
}

}  // namespace rlae
