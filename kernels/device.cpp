#include "kernels/device.h"

#include "rlae_build_info.h"

#include <cstdio>

#ifdef RLAE_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace rlae {
namespace {
#ifdef RLAE_WITH_CUDA
std::string cuda_version_string(int v) {
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}
#endif
}  // namespace

CudaStatus cuda_status() {
  CudaStatus s;
#ifdef RLAE_WITH_CUDA
  s.compiled = true;
  s.compiled_archs = RLAE_CUDA_ARCHITECTURES;
  int v = 0;
  if (cudaRuntimeGetVersion(&v) == cudaSuccess) s.runtime = cuda_version_string(v);
  int dv = 0;
  const cudaError_t drc = cudaDriverGetVersion(&dv);
  if (drc == cudaSuccess && dv > 0) {
    s.driver = cuda_version_string(dv);
  } else {
    s.driver = "no CUDA driver";
  }
  int n = 0;
  const cudaError_t rc = cudaGetDeviceCount(&n);
  if (rc == cudaSuccess) {
    s.device_count = n;
    for (int d = 0; d < n; ++d) {
      cudaDeviceProp p{};
      if (cudaGetDeviceProperties(&p, d) != cudaSuccess) {
        s.gpus.push_back("(properties unavailable)");
        continue;
      }
      char buf[400];
      std::snprintf(buf, sizeof buf, "%s, %.1f GiB, sm_%d%d", p.name,
                    static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0), p.major, p.minor);
      s.gpus.emplace_back(buf);
    }
  } else {
    s.device_count = 0;
    if (s.driver.empty() || dv > 0) s.driver += std::string(" (") + cudaGetErrorString(rc) + ")";
    (void)cudaGetLastError();  // clear the sticky error
  }
#endif
  return s;
}

}  // namespace rlae
