// The CUDA stream to launch on for a tensor: LibTorch's current stream of the
// tensor's device when this LibTorch has CUDA support (that device is made this
// thread's current one too: a kernel launches on the current device, and a
// stream of another device would be refused), else the legacy default stream.
#pragma once

#include <ATen/core/Tensor.h>
#include <cuda_runtime_api.h>

#if __has_include(<c10/cuda/impl/cuda_cmake_macros.h>)  // a CUDA build of LibTorch
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAStream.h>
#define RLAE_HAVE_TORCH_CUDA 1
#endif

namespace rlae::kernels {

inline cudaStream_t current_stream(const at::Tensor& t) {
#ifdef RLAE_HAVE_TORCH_CUDA
  c10::cuda::set_device(t.device().index());
  return c10::cuda::getCurrentCUDAStream(t.device().index()).stream();
#else
  (void)t;
  return nullptr;
#endif
}

}  // namespace rlae::kernels
