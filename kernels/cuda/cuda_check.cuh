// CUDA return-code checks: the failed statement, file, line and CUDA's message.
#pragma once

#include <cuda_runtime_api.h>

#include "common/check.h"

#define RLAE_CUDA_CHECK(call)                                                      \
  do {                                                                             \
    const cudaError_t rlae_cuda_rc_ = (call);                                      \
    if (rlae_cuda_rc_ != cudaSuccess)                                              \
      ::rlae::detail::throw_error(::rlae::detail::str_cat(                         \
          "CUDA error: ", #call, " failed: ", cudaGetErrorString(rlae_cuda_rc_),  \
          " (", __FILE__, ":", __LINE__, ")"));                                   \
  } while (0)
