// rlae train: the RLAE training job. On one node (no mpirun, or mpirun -np 1)
// the members decode in-process; under mpirun with 1 + G*K ranks the learner is
// rank 0 and the actors the rest (distributed rollouts, issue 6).
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "common/check.h"
#include "common/fs.h"
#include "common/options.h"
#include "common/stop_signal.h"
#include "launch/commands.h"
#include "launch/model_options.h"
#include "launch/train_options.h"
#include "common/mpi_env.h"
#include "learner/trainer.h"
#include "launch/train_roles.h"

namespace rlae::cli {

namespace {

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? -1 : std::atoi(v);
}

// How this process was started, from the variables each launcher documents:
// Open MPI (OMPI_COMM_WORLD_SIZE), PMI-1/2 (PMI_SIZE), PMIx (PMIX_RANK; the
// size comes from MPI itself), Slurm's srun (SLURM_STEP_NUM_TASKS).
struct Launcher {
  bool mpi = false;
  int tasks = 0;  // what the launcher says it started (0: it does not say)
  std::string name;
};
Launcher detect_launcher() {
  Launcher l;
  if (env_int("OMPI_COMM_WORLD_SIZE") > 1) return {true, env_int("OMPI_COMM_WORLD_SIZE"), "mpirun"};
  if (env_int("PMI_SIZE") > 1) return {true, env_int("PMI_SIZE"), "the PMI launcher"};
  const int slurm = env_int("SLURM_STEP_NUM_TASKS");
  if (std::getenv("PMIX_RANK") != nullptr) return {true, slurm > 1 ? slurm : 0, "the PMIx launcher"};
  // srun without a PMI plugin (--mpi=none, or a cluster whose default is none):
  // every task would start MPI as a world of one and train the run alone in the
  // same directory. Say so before MPI or anything else starts.
  RLAE_CHECK(slurm <= 1, "rlae train: srun started ", slurm, " tasks (SLURM_STEP_NUM_TASKS) but gave them no PMI ",
             "(PMIX_RANK, PMI_SIZE and OMPI_COMM_WORLD_SIZE unset): each would train alone; run 'srun --mpi=pmix' ",
             "(see 'srun --mpi=list') or mpirun inside the allocation");
  return l;
}

int run_inprocess(const TrainConfig& cfg, const std::string& resolved, const TrainProgress& show, bool tty) {
  try {
    train_inprocess(cfg, show);
  } catch (const TrainStopped& s) {
    if (tty) std::fprintf(stderr, "\n");
    std::fprintf(stderr, "rlae train: %s; %s (continue with --resume)\n", s.what(), s.saved.c_str());
    return stop_exit_code(s.signo);
  }
  if (tty) std::fprintf(stderr, "\n");
  write_file_atomic(cfg.out + "/config.ini", resolved);
  std::printf("rlae train: done; checkpoints in %s/checkpoints, metrics in %s/metrics.jsonl\n", cfg.out.c_str(),
              cfg.out.c_str());
  return kExitOk;
}

}  // namespace

// A distributed run that did not finish (a stop, a failure, a lost rank) ends
// without MPI_Finalize, which waits for every rank, and a rank may be held in a
// collective by a dead or stopped peer (a usage error found at set-up is agreed by
// every rank instead: each returns 2 and all finalize). Every file is closed by
// now; the cause is printed and the learner has told the actors to stop.
//  - After SIGTERM / SIGINT the launcher is already ending the job (mpirun, Slurm):
//    leave with the status. MPI_Abort would wait on a launcher that no longer
//    listens (Open MPI's abort report blocks until mpirun's SIGKILL).
//  - An actor told to stop by the learner: leave; the learner ends the job.
//  - Otherwise (a failure): MPI_Abort, so that the launcher ends every rank
//    (srun does not end a step when one task exits), and _exit 3 s later should
//    the launcher not act on it.
[[noreturn]] static void end_unfinished_job(int rc) {
  std::fflush(stdout);
  std::fflush(stderr);
  if (stop_requested() != 0 || rc == 0) ::_exit(rc);
  ::usleep(1500 * 1000);  // lets ranks that can stop cleanly print their line first
  std::thread([rc] {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    std::fflush(stderr);
    ::_exit(rc);
  }).detach();
  MPI_Abort(MPI_COMM_WORLD, rc);
  ::_exit(rc);
}

int cmd_train(int argc, const char* const* argv) {
  const po::options_description desc = train_options();
  const CommandSpec spec{"train", "train an RLAE ensemble policy",
                         "rlae train --config run.ini [options]   (mpirun -np 1+G*K for distributed rollouts)"};
  const auto vm_opt = parse_command_options(spec, desc, argc, argv, std::cout);
  if (!vm_opt) return kExitOk;
  const po::variables_map& vm = *vm_opt;
  TrainConfig cfg = train_config_from(vm);
  const std::string resolved = format_resolved_config(desc, vm);
  cfg.config_hash = config_hash(resolved);
  DistributedConfig dist;
  dist.channel.interface = vm["interface"].as<std::string>();
  dist.channel.heartbeat_ms = vm["heartbeat-ms"].as<int>();
  dist.channel.dead_after_ms = vm["dead-after-ms"].as<int>();
  dist.max_policy_lag = vm["max-policy-lag"].as<int>();
  // Bad option values end every layout with exit 2 here, before MPI or any member starts
  // (under mpirun every rank makes the same check; rank 0 alone prints it).
  check_train_config(cfg);
  check_distributed_config(dist);

  install_stop_signals();  // SIGTERM / SIGINT: checkpoint at the next iteration boundary, exit 128 + signal
  const bool tty = ::isatty(STDERR_FILENO);
  bool wrote_config = false;
  auto show = [&](const IterationMetrics& m) {
    if (!wrote_config) {  // the run directory exists and is checked by now
      write_file_atomic(cfg.out + "/config.ini", resolved);
      wrote_config = true;
    }
    std::fprintf(stderr, "%s[it %lld/%d] reward %.3f  acc %.3f  entropy %.3f  kl %.4f  clip %.2f  vloss %.4f  "
                         "%.2f ep/s  %.0f tok/s  fwd %.0f%%%s",
                 tty ? "\r" : "", static_cast<long long>(m.iteration), cfg.iterations, m.mean_reward, m.accuracy,
                 m.entropy, m.approx_kl, m.clip_fraction, m.value_loss, m.episodes_per_s, m.tokens_per_s,
                 100.0 * m.time.forward / std::max(m.seconds, 1e-9), tty ? "   " : "\n");
    std::fflush(stderr);
  };
  const Launcher launcher = detect_launcher();
  if (launcher.mpi) {
    int mpi_argc = 0;
    char** mpi_argv = nullptr;
    MpiSession mpi(&mpi_argc, &mpi_argv);
    RLAE_CHECK(launcher.tasks <= 1 || mpi.topology().size == launcher.tasks, launcher.name, " started ",
               launcher.tasks, " tasks but MPI sees a world of ", mpi.topology().size,
               ": each would train alone (under srun use --mpi=pmix, or launch with mpirun)");
    if (mpi.topology().size <= 1) return run_inprocess(cfg, resolved, show, tty);
    int rc = 1;
    bool finished = false;
    try {
      rc = train_distributed(cfg, dist, mpi, show, &finished);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "rlae train: rank %d on %s: error: %s\n", mpi.topology().rank, mpi.topology().host.c_str(),
                   e.what());
    }
    if (!finished && rc != kExitUsage) end_unfinished_job(rc);

    if (mpi.topology().rank == 0 && rc == 0) {
      if (tty) std::fprintf(stderr, "\n");
      write_file_atomic(cfg.out + "/config.ini", resolved);
      std::printf("rlae train: done; checkpoints in %s/checkpoints, metrics in %s/metrics.jsonl\n", cfg.out.c_str(),
                  cfg.out.c_str());
    }
    return rc;
  }
  return run_inprocess(cfg, resolved, show, tty);
}

}  // namespace rlae::cli
