#include "launch/model_options.h"

#include <ATen/Parallel.h>

#include "common/check.h"
#include "kernels/placement.h"

// Present when the BLAS behind LibTorch is OpenBLAS (a weak reference otherwise null).
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace rlae::cli {

void add_model_options(po::options_description& desc) {
  desc.add_options()
      ("dtype", opt<std::string>("f32|bf16|f16", "f32"), "compute dtype")
      ("device", opt<std::string>("auto|cpu|cuda[:N]", "auto"),
       "where members compute: auto = the GPUs when visible, else cpu; under mpirun, actor ranks "
       "take cuda:(local rank % GPUs)")
      ("threads", opt<int>("N", 0), "LibTorch threads (0: LibTorch's default)");
}

ModelOptions model_options_from(const po::variables_map& vm, int64_t num_slots) {
  ModelOptions mo;
  const std::string dtype = vm["dtype"].as<std::string>();
  if (dtype == "f32" || dtype == "float32") mo.dtype = at::kFloat;
  else if (dtype == "bf16" || dtype == "bfloat16") mo.dtype = at::kBFloat16;
  else if (dtype == "f16" || dtype == "float16") mo.dtype = at::kHalf;
  else RLAE_USAGE_CHECK(false, "--dtype: expected f32|bf16|f16, got '", dtype, "'");
  // Checked here, before any member loads: `--device cuda` without a GPU fails now.
  const DeviceRequest request = parse_device_request(vm["device"].as<std::string>());
  const Placement place = place_device_here(request, 0, "this process");
  mo.placement = request.text;
  mo.device = place.cuda ? at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(place.index)) : at::Device(at::kCPU);
  RLAE_USAGE_CHECK(mo.dtype != at::kHalf || mo.device.is_cuda(),
                   "--dtype f16 needs a GPU (--device cuda); on the CPU use f32 or bf16");
  const int threads = vm["threads"].as<int>();
  RLAE_USAGE_CHECK(threads >= 0, "--threads must be >= 0");
  if (threads > 0) {
    at::set_num_threads(threads);
    // OpenBLAS (the BLAS LibTorch calls for matrix products on CPU) keeps its own
    // thread pool: without this, --threads 1 still runs GEMMs on every core, and
    // results differ in the last bits from a run with OMP_NUM_THREADS=1.
    if (openblas_set_num_threads != nullptr) openblas_set_num_threads(threads);
  }
  mo.num_slots = std::max<int64_t>(num_slots, 1);
  return mo;
}

}  // namespace rlae::cli
