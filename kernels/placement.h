// Which device a process computes on: `--device auto|cpu|cuda[:N]` resolved against
// the GPUs this process sees and its rank on its node.
//
//   auto      cuda:(local_rank % visible) when GPUs are visible, else cpu
//   cpu       cpu
//   cuda      cuda:(local_rank % visible); an error when no GPU is visible
//   cuda:N    cuda:N; an error when fewer than N+1 GPUs are visible
//
// Under mpirun every rank of a node counts in local_rank (the learner too), so the
// actors of a node spread over its GPUs and wrap around when there are more actors
// than GPUs. In one process (rlae eval, generate, in-process train) local_rank is 0:
// every member shares cuda:0 (or the GPU named).
#pragma once

#include <string>

namespace rlae {

struct DeviceRequest {
  enum class Kind { automatic, cpu, cuda };
  Kind kind = Kind::cpu;
  int index = -1;    // cuda:N; -1 when no index was given
  std::string text;  // as the user wrote it
};

// Throws rlae::UsageError ("--device: expected auto|cpu|cuda[:N], got 'x'").
DeviceRequest parse_device_request(const std::string& text);

struct Placement {
  bool cuda = false;
  int index = -1;  // >= 0 when cuda
  std::string str() const { return cuda ? "cuda:" + std::to_string(index) : "cpu"; }
};

// Pure: the device for node-local rank `local_rank` with `visible` GPUs. `where`
// (e.g. "rank 3 on node7") and `why_none` (e.g. the CUDA driver status) go into the
// error when the request cannot be met.
Placement place_device(const DeviceRequest& request, int local_rank, int visible,
                       const std::string& where, const std::string& why_none);

// place_device() against this process's GPUs (kernels/device.h cuda_status()).
Placement place_device_here(const DeviceRequest& request, int local_rank, const std::string& where);

}  // namespace rlae
