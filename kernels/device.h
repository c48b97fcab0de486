// What the accelerator side of this build can do, for `rlae info` and device placement.
#pragma once

#include <string>
#include <vector>

namespace rlae {

struct CudaStatus {
  bool compiled = false;       // built with RLAE_CUDA
  int device_count = 0;        // visible GPUs (0 when none or no driver)
  std::string runtime;         // "13.0" or "" when not compiled
  std::string driver;          // "13.0", or why none is usable
  std::string compiled_archs;  // "80;90"
  std::vector<std::string> gpus;  // "NVIDIA H200, 139.8 GiB, sm_90" per visible GPU
};

CudaStatus cuda_status();

}  // namespace rlae
