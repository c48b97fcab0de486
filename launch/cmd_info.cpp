// rlae info: versions of every component and what this build can do.
#include <H5public.h>
#include <mpi.h>
#include <torch/version.h>
#include <zmq.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <boost/version.hpp>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <zmq.hpp>

#include "actors/communicator.h"
#include "common/mpi_env.h"
#include "common/options.h"
#include "common/channel.h"
#include "kernels/device.h"
#include "kernels/placement.h"
#include "launch/commands.h"
#include "rlae_build_info.h"

namespace rlae::cli {
namespace {

// The CPU BLAS behind LibTorch's matrix products: LibTorch's own build record
// (BLAS_INFO=mkl: MKL linked into libtorch_cpu), else the BLAS library mapped into
// this process (after a matrix product made torch load it). GPU BLAS (cuBLAS) is
// not the CPU's.
std::string loaded_blas() {
  const std::string config = at::show_config();
  std::string info;
  if (const auto p = config.find("BLAS_INFO="); p != std::string::npos)
    info = config.substr(p + 10, config.find_first_of(", \n", p + 10) - (p + 10));
  if (info == "mkl") return "MKL (linked into libtorch_cpu)";
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto p = line.find('/');
    if (p == std::string::npos) continue;
    const std::string path = line.substr(p);
    const std::string file = path.substr(path.rfind('/') + 1);
    if (file.find("cublas") != std::string::npos) continue;
    if (file.find("blas") != std::string::npos || file.find("mkl") != std::string::npos) return path;
  }
  return info.empty() ? "unknown" : info;
}

// Under a launcher with several tasks: each rank's host and the device --device
// gives it, gathered to rank 0 ("rank -> host -> device"); empty in one process.
// Returns false on ranks other than 0 (they print nothing).
bool placement_rows(const std::string& request, std::vector<std::string>* rows) {
  int tasks = 1;
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"})
    if (const char* s = std::getenv(v)) {
      tasks = std::max(tasks, std::atoi(s));
      break;
    }
  const DeviceRequest req = parse_device_request(request);
  if (tasks <= 1) {
    const Placement p = place_device_here(req, 0, "this process");
    rows->push_back("this process on " + local_host_name() + ": " + p.str() + " (--device " + request + ")");
    return true;
  }
  int argc = 0;
  char** argv = nullptr;
  MpiSession mpi(&argc, &argv);
  const MpiTopology& t = mpi.topology();
  std::string mine;
  try {
    mine = place_device_here(req, t.local_rank, "rank " + std::to_string(t.rank) + " on " + t.host).str();
  } catch (const std::exception& e) {
    mine = std::string("error: ") + e.what();
  }
  const auto all = gather_strings(MPI_COMM_WORLD, t.host + " (local rank " + std::to_string(t.local_rank) +
                                                      "): " + mine);
  if (t.rank != 0) return false;
  for (size_t r = 0; r < all.size(); ++r) rows->push_back("rank " + std::to_string(r) + " on " + all[r]);
  return true;
}

// GFLOP/s of one float32 matrix product on one thread: tells reference BLAS from OpenBLAS.
double blas_gflops() {
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const int64_t n = 256;
  at::Tensor a = at::rand({n, n}), b = at::rand({n, n});
  (void)at::mm(a, b);
  const int reps = 8;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) (void)at::mm(a, b);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  at::set_num_threads(threads);
  return 2.0 * n * n * n * reps / s / 1e9;
}

}  // namespace

int cmd_info(int argc, const char* const* argv) {
  po::options_description desc("info");
  desc.add_options()("json", po::bool_switch(), "print one JSON object instead of a table")
      ("device", po::value<std::string>()->default_value("auto"),
       "the --device request whose placement to show (auto|cpu|cuda[:N]); under mpirun, every rank's");
  const auto vm = parse_command_options({"info", "versions and capabilities of this rlae build", "rlae info [--json]"},
                                        desc, argc, argv, std::cout);
  if (!vm) return kExitOk;

  unsigned h5maj = 0, h5min = 0, h5rel = 0;
  H5get_libversion(&h5maj, &h5min, &h5rel);
  int zmaj = 0, zmin = 0, zpat = 0;
  zmq_version(&zmaj, &zmin, &zpat);
  const int threads = at::get_num_threads();
  const CudaStatus cuda = cuda_status();
  const double gflops = blas_gflops();
  std::vector<std::string> placement;
  if (!placement_rows((*vm)["device"].as<std::string>(), &placement)) return kExitOk;

  nlohmann::json j;
  j["rlae"] = RLAE_VERSION;
  j["build"] = std::string(RLAE_BUILD_TYPE) + ", " + RLAE_CXX_COMPILER;
  j["libtorch"] = TORCH_VERSION;
  j["torch_threads"] = threads;
  j["blas"] = loaded_blas();
  j["blas_gflops_1thread"] = std::round(gflops * 10) / 10;
  j["mpi"] = mpi_library_version();
  j["hdf5"] = std::to_string(h5maj) + "." + std::to_string(h5min) + "." + std::to_string(h5rel);
  j["zeromq"] = std::to_string(zmaj) + "." + std::to_string(zmin) + "." + std::to_string(zpat);
  j["cppzmq"] = std::to_string(CPPZMQ_VERSION_MAJOR) + "." + std::to_string(CPPZMQ_VERSION_MINOR) +
                "." + std::to_string(CPPZMQ_VERSION_PATCH);
  j["boost"] = std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000) +
               "." + std::to_string(BOOST_VERSION % 100);
  j["nlohmann_json"] = std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
                       std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
                       std::to_string(NLOHMANN_JSON_VERSION_PATCH);
  j["cuda_compiled"] = cuda.compiled;
  j["cuda_runtime"] = cuda.runtime;
  j["cuda_driver"] = cuda.driver;
  j["cuda_archs"] = cuda.compiled_archs;
  j["nccl_compiled"] = cuda.compiled;
  j["nccl"] = nccl_version();
  j["gpus_visible"] = cuda.device_count;
  j["gpus"] = cuda.gpus;
  j["placement"] = placement;

  if ((*vm)["json"].as<bool>()) {
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  auto row = [](const char* k, const std::string& v) { std::cout << "  " << k << std::string(12 - std::strlen(k), ' ') << v << "\n"; };
  std::cout << "rlae " << RLAE_VERSION << " (" << j["build"].get<std::string>() << ")\n";
  std::ostringstream blas;
  blas.precision(3);
  blas << j["blas"].get<std::string>() << " (" << j["blas_gflops_1thread"].get<double>() << " GFLOP/s on 1 thread"
       << (gflops < 10 ? "; slow: is another process using the cores?)" : ")");
  row("LibTorch", std::string(TORCH_VERSION) + " (" + std::to_string(threads) + " threads)");
  row("BLAS", blas.str());
  row("MPI", j["mpi"].get<std::string>());
  row("HDF5", j["hdf5"].get<std::string>());
  row("ZeroMQ", j["zeromq"].get<std::string>() + " (cppzmq " + j["cppzmq"].get<std::string>() + ")");
  row("Boost", j["boost"].get<std::string>() + " (program_options)");
  row("JSON", "nlohmann " + j["nlohmann_json"].get<std::string>());
  if (cuda.compiled) {
    row("CUDA", "compiled in (runtime " + cuda.runtime + ", archs " + cuda.compiled_archs + "); driver: " + cuda.driver);
    row("NCCL", "compiled in (" + j["nccl"].get<std::string>() + ")");
  } else {
    row("CUDA", "not compiled in (configure with -DRLAE_CUDA=ON)");
    row("NCCL", "not compiled in");
  }
  row("GPUs", std::to_string(cuda.device_count) + " visible");
  for (size_t d = 0; d < cuda.gpus.size(); ++d) row("", "cuda:" + std::to_string(d) + " " + cuda.gpus[d]);
  for (const std::string& p : placement) row("Placement", p);
  return kExitOk;
}

}  // namespace rlae::cli
