// rlae bench exchange: latency of the ensemble's per-step exchange between
// member ranks, for K = 2, 3, 4 ranks and payloads from a top-8 sparse payload
// to a full 150k-entry distribution (MPI on CPU; NCCL where a GPU is visible).
// With --models, also the distributed decode step beside the slowest member's
// own step on the same work, as a ratio.
//
// The command launches itself under mpirun once per K (a worker mode does the
// measuring) and prints one table.
#include <unistd.h>

#include <ATen/ATen.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "actors/communicator.h"
#include "actors/ensemble.h"
#include "common/check.h"
#include "common/mpi_env.h"
#include "common/options.h"
#include "common/prompt.h"
#include "common/task_suite.h"
#include "kernels/device.h"
#include "launch/bench.h"
#include "launch/commands.h"

namespace rlae::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Payload {
  std::string name;
  bool dense;       // all-reduce of fixed-point int64 (dense / full-union mode)
  int64_t entries;  // per sequence: top-k entries, or vocabulary size
};

// Median seconds of one collective over `iters` repetitions (after warm-up).
double time_collective(Communicator& comm, const Payload& p, int64_t batch, int iters) {
  const int K = comm.size();
  std::vector<double> times;
  if (p.dense) {
    std::vector<int64_t> buf(static_cast<size_t>(batch * p.entries), 1);
    for (int i = 0; i < iters + 3; ++i) {
      comm.barrier();
      const auto t0 = Clock::now();
      comm.all_reduce_sum(buf.data(), buf.size(), DType::i64);
      if (i >= 3) times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
  } else {
    const size_t n = static_cast<size_t>(batch * p.entries);
    std::vector<int32_t> ids(n, 7), all_ids(n * K);
    std::vector<float> probs(n, 0.5f), all_probs(n * K);
    for (int i = 0; i < iters + 3; ++i) {
      comm.barrier();
      const auto t0 = Clock::now();
      comm.all_gather(ids.data(), all_ids.data(), n, DType::i32);
      comm.all_gather(probs.data(), all_probs.data(), n, DType::f32);
      if (i >= 3) times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
  }
  std::sort(times.begin(), times.end());
  double med = times[times.size() / 2];
  // The exchange is as slow as its slowest rank.
  MPI_Allreduce(MPI_IN_PLACE, &med, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return med;
}

int worker(const po::variables_map& vm) {
  int argc = 0;
  char** argv = nullptr;
  MpiSession mpi(&argc, &argv);
  const int rank = mpi.topology().rank, K = mpi.topology().size;
  auto comm = make_mpi_communicator(MPI_COMM_WORLD);
  const int64_t batch = vm["batch"].as<int>();
  const int iters = vm["iters"].as<int>();
  const std::vector<Payload> payloads = {{"top-8", false, 8},       {"top-64", false, 64},
                                         {"top-1024", false, 1024}, {"dense-32k", true, 32000},
                                         {"dense-152k", true, 151936}};
  nlohmann::json out = {{"K", K}, {"batch", batch}, {"backend", comm->backend()}, {"rows", nlohmann::json::array()}};
  for (const Payload& p : payloads) {
    const double s = time_collective(*comm, p, batch, iters);
    const double bytes = static_cast<double>(batch * p.entries) * (p.dense ? 8.0 : 8.0);
    out["rows"].push_back({{"payload", p.name}, {"seconds", s}, {"bytes_per_rank", bytes}});
  }
  if (vm.count("models")) {
    // End to end: each rank decodes its member in the group, then alone.
    const auto dirs = split_list(vm["models"].as<std::string>(), "--models");
    RLAE_CHECK(static_cast<int>(dirs.size()) >= K, "bench exchange: ", dirs.size(), " models for ", K, " ranks");
    std::vector<std::string> mine(dirs.begin(), dirs.begin() + K);
    ModelOptions mo;
    mo.num_slots = batch;
    Member member = load_member(mine[static_cast<size_t>(rank)], mo);
    std::vector<VocabMember> vms;
    for (int k = 0; k < K; ++k) {
      ModelConfig cfg = ModelConfig::from_dir(mine[static_cast<size_t>(k)]);
      std::vector<int32_t> eos(cfg.eos_token_ids.begin(), cfg.eos_token_ids.end());
      vms.push_back({Tokenizer::from_file(mine[static_cast<size_t>(k)] + "/tokenizer.json"), eos});
    }
    const UnionVocab vocab = UnionVocab::build(vms);
    SuiteOptions so;
    so.train_per_family = so.dev_per_family = 0;
    so.test_per_family = 8;
    const Suite suite = make_task_suite(so);
    std::vector<EnsemblePrompt> prompts;
    for (int64_t i = 0; i < batch; ++i) {
      const Problem& p = suite.test[static_cast<size_t>(i) % suite.test.size()];
      prompts.push_back({format_prompt(p.question), p.task});
    }
    EnsembleOptions eo;
    eo.max_new_tokens = vm["new-tokens"].as<int>();
    auto uniform = make_policy("uniform", mine);
    EnsembleStats st;
    comm->barrier();
    ensemble_decode(member, vocab, *comm, *uniform, prompts, eo, &st);
    double group_step = st.seconds / std::max<int64_t>(st.steps, 1);
    MPI_Allreduce(MPI_IN_PLACE, &group_step, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    // The member alone: one-rank group on the same prompts.
    MPI_Comm self;
    MPI_Comm_split(MPI_COMM_WORLD, rank, 0, &self);
    auto solo = make_mpi_communicator(self);
    const UnionVocab own = UnionVocab::build({vms[static_cast<size_t>(rank)]});
    auto one = make_policy("uniform", {mine[static_cast<size_t>(rank)]});
    EnsembleStats alone;
    ensemble_decode(member, own, *solo, *one, prompts, eo, &alone);
    double alone_step = alone.forward_seconds / std::max<int64_t>(alone.steps, 1);
    MPI_Allreduce(MPI_IN_PLACE, &alone_step, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    MPI_Comm_free(&self);
    out["group_step_s"] = group_step;
    out["slowest_member_step_s"] = alone_step;
  }
  if (rank == 0) std::cout << out.dump() << std::endl;
  return kExitOk;
}

}  // namespace

int bench_exchange(int argc, const char* const* argv) {
  po::options_description desc("bench exchange");
  desc.add_options()
      ("ranks", opt<std::string>("LIST", "2,3,4"), "group sizes K to measure")
      ("batch", opt<int>("B", 32), "sequences per step")
      ("iters", opt<int>("N", 50), "repetitions per measurement (median reported)")
      ("models", opt<std::string>("DIR,DIR,..."), "also time a distributed decode step on these members")
      ("new-tokens", opt<int>("N", 16), "tokens per prompt for the decode step")
      ("worker", po::bool_switch(), "internal: measure inside an mpirun job");
  const CommandSpec spec{"bench exchange", "latency of the per-step exchange between member ranks",
                         "rlae bench exchange [--ranks 2,3,4] [--batch 32] [--models A,B,C,D]"};
  const auto vm = parse_command_options(spec, desc, argc, argv, std::cout);
  if (!vm) return kExitOk;
  if ((*vm)["worker"].as<bool>()) return worker(*vm);

  const std::vector<int64_t> ranks = parse_int_list((*vm)["ranks"].as<std::string>(), "--ranks", 2, 64);
  RLAE_USAGE_CHECK((*vm)["iters"].as<int>() >= 1 && (*vm)["batch"].as<int>() >= 1 && (*vm)["new-tokens"].as<int>() >= 1,
                   "rlae bench exchange: --iters, --batch and --new-tokens must be >= 1");
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  RLAE_CHECK(n > 0, "bench exchange: cannot find the rlae binary");
  self[n] = '\0';
  const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  std::printf("MPI on CPU (%ld cores here; ranks beyond that are oversubscribed), batch %d, median of %d\n", cores,
              (*vm)["batch"].as<int>(), (*vm)["iters"].as<int>());
  std::printf("%3s %-11s %12s %14s\n", "K", "payload", "latency us", "bytes/rank");
  for (const int64_t k : ranks) {
    const int K = static_cast<int>(k);
    std::string cmd = "mpirun " + std::string(::getuid() == 0 ? "--allow-run-as-root " : "") +
                      "--oversubscribe -x OMP_NUM_THREADS=1 -np " + std::to_string(K) + " '" + self +
                      "' bench exchange --worker --batch " + std::to_string((*vm)["batch"].as<int>()) + " --iters " +
                      std::to_string((*vm)["iters"].as<int>()) + " --new-tokens " +
                      std::to_string((*vm)["new-tokens"].as<int>());
    if (vm->count("models")) cmd += " --models '" + (*vm)["models"].as<std::string>() + "'";
    const std::string text = run_command(cmd + " 2>/dev/null");
    const nlohmann::json j = nlohmann::json::parse(text.substr(text.find('{')));
    for (const auto& row : j["rows"]) {
      std::printf("%3d %-11s %12.1f %14.0f\n", K, row["payload"].get<std::string>().c_str(),
                  row["seconds"].get<double>() * 1e6, row["bytes_per_rank"].get<double>());
    }
    if (j.contains("group_step_s")) {
      const double g = j["group_step_s"].get<double>(), s = j["slowest_member_step_s"].get<double>();
      std::printf("%3d decode step: distributed %.2f ms, slowest member alone %.2f ms, ratio %.2fx\n", K, g * 1e3,
                  s * 1e3, g / s);
    }
    std::fflush(stdout);
  }
  if (cuda_status().device_count > 0) {
    std::printf("NCCL: a GPU is visible; the NCCL backend is measured with the same payloads by the GPU bench (issue 6)\n");
  }
  return kExitOk;
}

}  // namespace rlae::cli
