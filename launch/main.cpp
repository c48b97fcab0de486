// rlae: one binary, subcommands; under mpirun, roles by rank.
#include <c10/util/Exception.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "common/check.h"
#include "common/options.h"
#include "launch/commands.h"
#include "rlae_build_info.h"

namespace rlae::cli {
namespace {

const Command kCommands[] = {
    {"train", "train an RLAE ensemble policy (mpirun -np 1+G*K rlae train --config run.ini)", cmd_train},
    {"eval", "accuracy and latency of a policy or baseline on a dataset", cmd_eval},
    {"generate", "answer prompts with a member or a trained ensemble", cmd_generate},
    {"replay", "inspect, export and re-train from HDF5 replay shards", cmd_replay},
    {"sweep", "hyperparameter sweeps (Slurm job arrays) and run comparison", cmd_sweep},
    {"pretrain", "train a tiny member LLM from scratch (Hugging Face layout)", cmd_pretrain},
    {"data", "make the maths word-problem suite; dataset statistics", cmd_data},
    {"tokenizer", "learn a BPE tokenizer (ByteLevel or Metaspace) from a corpus", cmd_tokenizer},
    {"bench", "speed benchmarks, printed as side-by-side ratios", cmd_bench},
    {"info", "versions of every component, CUDA/NCCL support, visible GPUs", cmd_info},
};

void print_usage(std::FILE* out) {
  std::fprintf(out, "rlae %s: reinforcement-learned ensembles of LLMs\n\n", RLAE_VERSION);
  std::fprintf(out, "usage: rlae <command> [options]   (rlae <command> --help for its options)\n\ncommands:\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
}

// One line: newlines from nested messages folded into spaces.
std::string one_line(std::string s) {
  for (char& c : s) if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

int run(int argc, const char* const* argv) {
  if (argc < 2) {
    print_usage(stderr);
    return kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout);
    return kExitOk;
  }
  if (name == "--version") {
    std::printf("rlae %s\n", RLAE_VERSION);
    return kExitOk;
  }
  for (const Command& c : kCommands) {
    if (name == c.name) return c.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "rlae: unknown command '%s'; see 'rlae --help'\n",
               name.c_str());
  return kExitUsage;
}

}  // namespace
}  // namespace rlae::cli

// LibTorch's OpenMP threads spin while they wait; on a machine with few cores
// shared by several ranks or threads, spinning threads steal the cores that
// the working ones need (measured here: 2-5x slower decoding with 2 threads).
// The OpenMP runtime reads OMP_WAIT_POLICY when it loads, before main(), so
// rlae re-executes itself once with PASSIVE unless the user chose a policy.
// It does so only once a command's options have parsed (the hook below runs
// inside parse_command_options): `--help`, `--version` and argument errors print
// from the first process, without a second start. Each start costs what loading
// LibTorch and the CUDA libraries of the wheel costs (0.35-0.55 s on 2 cores: an
// empty main() linked against them takes as long; rlae's own code adds ~0).
char** g_argv = nullptr;

void ensure_passive_openmp() {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("RLAE_NO_REEXEC") != nullptr) return;
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  std::fflush(stdout);
  std::fflush(stderr);
  ::execv("/proc/self/exe", g_argv);
  // execv failed (no /proc?): go on with the runtime's default policy.
}

// Errors that reach main() come from checks every rank of a launch makes alike
// (options, inputs, --device): rank 0 alone prints them, so a job of N ranks
// says it once. (Errors of one rank are printed where they happen, with the rank.)
// The other ranks leave 1.5 s later: under mpirun the first rank to exit non-zero
// ends the job, and a rank 0 killed before mpirun read its line would leave the
// job with no message at all. Rank 0 exiting first, its output is read in full
// (Open MPI waits for a process's output to close before it counts it as ended).
bool launched_rank_other_than_0() {
  for (const char* v : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"})
    if (const char* r = std::getenv(v)) return std::string(r) != "0";
  return false;
}

int main(int argc, char** argv) {
  using namespace rlae::cli;
  g_argv = argv;
  rlae::set_options_parsed_hook(ensure_passive_openmp);
  const char* cmd = argc > 1 ? argv[1] : "";
  const bool quiet = launched_rank_other_than_0();
  auto say = [&](const std::string& line) {
    if (!quiet) std::fprintf(stderr, "%s\n", line.c_str());
    else ::usleep(1500 * 1000);
  };
  try {
    return run(argc, argv);
  } catch (const rlae::UsageError& e) {
    say(one_line(e.what()));
    return kExitUsage;
  } catch (const rlae::Error& e) {
    say(std::string("rlae ") + cmd + ": error: " + one_line(e.what()));
    return kExitError;
  } catch (const c10::Error& e) {
    say(std::string("rlae ") + cmd + ": error: " + one_line(e.what_without_backtrace()));
    return kExitError;
  } catch (const std::exception& e) {
    say(std::string("rlae ") + cmd + ": error: " + one_line(e.what()));
    return kExitError;
  }
}
