// rlae sweep: hyperparameter sweeps over rlae train, here or as a Slurm job array.
//
//   rlae sweep plan --grid FILE --out DIR       one config per grid point: DIR/trial-NNN/config.ini
//   rlae sweep run --sweep DIR [--np N]         the unfinished trials here, one after another
//   rlae sweep slurm --sweep DIR [--submit]     DIR/sweep.sbatch: one array task per trial
//   rlae sweep compare --sweep DIR [--last N]   trials side by side, best first
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options/parsers.hpp>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/check.h"
#include "common/fs.h"
#include "common/options.h"
#include "common/sweep_grid.h"
#include "launch/commands.h"
#include "launch/train_options.h"

namespace rlae::cli {
namespace {

std::string self_exe() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  RLAE_CHECK(n > 0, "rlae sweep: cannot find the rlae executable (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Checks a trial's settings against rlae train's options, as rlae train would.
void validate_trial(const std::string& grid, const std::string& trial, const std::string& ini) {
  const po::options_description desc = train_options();
  po::variables_map vm;
  try {
    std::istringstream in(ini);
    po::store(po::parse_config_file(in, desc, /*allow_unregistered=*/false), vm);
    po::notify(vm);
    train_config_from(vm);
  } catch (const po::error& e) {
    RLAE_USAGE_CHECK(false, "rlae sweep plan: ", grid, ": ", trial, ": ", e.what(), " (see 'rlae train --help')");
  } catch (const UsageError& e) {
    RLAE_USAGE_CHECK(false, "rlae sweep plan: ", grid, ": ", trial, ": ", e.what());
  }
}

nlohmann::json read_sweep(const std::string& dir) {
  const std::string path = dir + "/sweep.json";
  RLAE_CHECK(file_exists(path), path, ": missing (make the sweep with 'rlae sweep plan --grid FILE --out ", dir, "')");
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    RLAE_FAIL(path, ": not a sweep description (", e.what(), ")");
  }
}

struct TrialState {
  std::string status;  // finished | partial | failed | pending
  int64_t iterations = 0, done = 0;
  double accuracy = -1, reward = -1;
  std::string error;  // failed: the first line of FAILED (exit code and the log's first error line)
};

// The first line of the log that reports an error, for FAILED and compare.
std::string first_error_line(const std::string& log) {
  if (!file_exists(log)) return "";
  std::istringstream in(read_file(log));
  std::string usage;  // a bad option value: "rlae train: --lr must be > 0, got -1" (exit 2, no "error")
  for (std::string l; std::getline(in, l);) {
    if (l.find("error") != std::string::npos || l.find("Error") != std::string::npos) return l;
    if (usage.empty() && l.rfind("rlae train: --", 0) == 0) usage = l;
  }
  return usage;
}

int64_t config_int(const std::string& ini, const std::string& key, int64_t fallback) {
  for (const auto& [k, v] : read_ini_settings(ini)) {
    if (k != key) continue;
    size_t used = 0;
    int64_t n = 0;
    try {
      n = std::stoll(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    RLAE_CHECK(used > 0 && used == v.size(), ini, ": '", key, " = ", v, "' is not an integer");
    return n;
  }
  return fallback;
}

TrialState trial_state(const std::string& dir, int last) {
  TrialState s;
  s.iterations = config_int(dir + "/config.ini", "iterations", 100);
  std::vector<nlohmann::json> lines;
  if (file_exists(dir + "/metrics.jsonl")) {
    std::istringstream in(read_file(dir + "/metrics.jsonl"));
    for (std::string l; std::getline(in, l);) {
      if (l.empty()) continue;
      try {
        lines.push_back(nlohmann::json::parse(l));
      } catch (const nlohmann::json::exception&) {
        break;  // a line cut by a crash ends what counts
      }
    }
  }
  s.done = lines.empty() ? 0 : lines.back().value("iteration", static_cast<int64_t>(lines.size()));
  if (!lines.empty()) {
    const size_t from = lines.size() > static_cast<size_t>(last) ? lines.size() - static_cast<size_t>(last) : 0;
    double acc = 0, rew = 0, n = 0;
    for (size_t i = from; i < lines.size(); ++i) {
      acc += lines[i].value("accuracy", 0.0);
      rew += lines[i].value("mean_reward", 0.0);
      ++n;
    }
    s.accuracy = acc / n;
    s.reward = rew / n;
  }
  const bool finished = file_exists(dir + "/checkpoints/latest") && s.done >= s.iterations;
  const bool failed = file_exists(dir + "/FAILED");
  if (failed && !finished) {
    std::istringstream in(read_file(dir + "/FAILED"));
    std::getline(in, s.error);
    if (s.error.empty()) s.error = "(FAILED is empty)";
  }
  s.status = finished ? "finished" : failed ? "failed" : s.done > 0 ? "partial" : "pending";
  return s;
}

int sweep_plan(int argc, const char* const* argv) {
  po::options_description desc("sweep plan");
  desc.add_options()
      ("grid", opt<std::string>("FILE"), "the sweep grid (INI: base, settings, [grid] value lists)")
      ("out", opt<std::string>("DIR"), "sweep directory (trial-NNN/ inside)");
  const CommandSpec spec{"sweep plan", "expand a grid into one rlae train config per trial",
                         "rlae sweep plan --grid FILE --out DIR"};
  const auto vm_opt = parse_command_options(spec, desc, argc, argv, std::cout);
  if (!vm_opt) return kExitOk;
  const po::variables_map& vm = *vm_opt;
  RLAE_USAGE_CHECK(vm.count("grid") && vm.count("out"), "rlae sweep plan: --grid FILE and --out DIR are required");
  const std::string grid_path = vm["grid"].as<std::string>(), dir = vm["out"].as<std::string>();
  const SweepGrid grid = parse_sweep_grid(grid_path);
  const auto trials = expand_sweep(grid);
  const auto points = sweep_points(grid);
  // Every trial's config is checked before anything is written.
  std::vector<std::string> inis;
  // Paths in the configs (members, data, out) are relative to where the plan is made:
  // trials run from there.
  char cwd[PATH_MAX];
  RLAE_CHECK(::getcwd(cwd, sizeof(cwd)) != nullptr, "rlae sweep plan: cannot read the working directory");
  nlohmann::json j = {{"grid", grid_path}, {"base", grid.base}, {"workdir", cwd}, {"trials", nlohmann::json::array()}};
  for (const auto& [k, values] : grid.axes) j["axes"].push_back({{"key", k}, {"values", values}});
  for (size_t i = 0; i < trials.size(); ++i) {
    std::string ini = "# " + trial_name(i) + " of the sweep " + grid_path + " (rlae sweep plan)\n";
    for (const auto& [k, v] : trials[i]) {
      if (k != "out") ini += k + " = " + v + "\n";  // a base config's out is replaced by the trial's
    }
    ini += "out = " + dir + "/" + trial_name(i) + "\n";
    validate_trial(grid_path, trial_name(i), ini);
    inis.push_back(ini);
    nlohmann::json p = nlohmann::json::object();
    for (const auto& [k, v] : points[i]) p[k] = v;
    j["trials"].push_back({{"name", trial_name(i)}, {"point", p}});
  }
  const std::string text = j.dump(2) + "\n";
  if (file_exists(dir + "/sweep.json")) {
    RLAE_CHECK(read_file(dir + "/sweep.json") == text, dir, ": already holds another sweep (", dir,
               "/sweep.json differs); choose another --out");
  }
  make_dirs(dir);
  for (size_t i = 0; i < inis.size(); ++i) {
    make_dirs(dir + "/" + trial_name(i));
    write_file_atomic(dir + "/" + trial_name(i) + "/config.ini", inis[i]);
  }
  write_file_atomic(dir + "/sweep.json", text);
  std::printf("rlae sweep plan: %zu trials in %s (", trials.size(), dir.c_str());
  for (size_t a = 0; a < grid.axes.size(); ++a) {
    std::printf("%s%s x%zu", a ? ", " : "", grid.axes[a].first.c_str(), grid.axes[a].second.size());
  }
  std::printf("); run them with 'rlae sweep run --sweep %s' or 'rlae sweep slurm --sweep %s --submit'\n", dir.c_str(),
              dir.c_str());
  return kExitOk;
}

int sweep_run(int argc, const char* const* argv) {
  po::options_description desc("sweep run");
  desc.add_options()
      ("sweep", opt<std::string>("DIR"), "sweep directory made by rlae sweep plan")
      ("np", opt<int>("N", 1), "ranks per trial: 1 in-process, or 1+G*K under mpirun")
      ("only", opt<std::string>("LIST", ""), "only these trials (trial-000,trial-003)");
  const CommandSpec spec{"sweep run", "run the sweep's unfinished trials on this machine, one after another",
                         "rlae sweep run --sweep DIR [--np N]"};
  const auto vm_opt = parse_command_options(spec, desc, argc, argv, std::cout);
  if (!vm_opt) return kExitOk;
  const po::variables_map& vm = *vm_opt;
  RLAE_USAGE_CHECK(vm.count("sweep"), "rlae sweep run: --sweep DIR is required");
  const int np = vm["np"].as<int>();
  RLAE_USAGE_CHECK(np >= 1, "rlae sweep run: --np must be >= 1");
  const nlohmann::json sweep = read_sweep(vm["sweep"].as<std::string>());
  char abs_dir[PATH_MAX];
  RLAE_CHECK(::realpath(vm["sweep"].as<std::string>().c_str(), abs_dir) != nullptr, vm["sweep"].as<std::string>(),
             ": cannot resolve");
  const std::string dir = abs_dir;  // the trials run from the plan's working directory
  std::vector<std::string> only;
  if (!vm["only"].as<std::string>().empty()) only = split_list(vm["only"].as<std::string>(), "--only");
  const std::string exe = self_exe();
  int ran = 0, failed = 0;
  std::string first_failure;
  for (const auto& t : sweep["trials"]) {
    const std::string name = t["name"].get<std::string>(), tdir = dir + "/" + name;
    if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
    const TrialState st = trial_state(tdir, 1);
    if (st.status == "finished") {
      std::printf("%s: done already\n", name.c_str());
      continue;
    }
    std::remove((tdir + "/FAILED").c_str());
    std::string cmd = "cd " + quote(sweep.value("workdir", std::string("."))) + " && ";
    if (np > 1) {
      cmd += "mpirun " + std::string(::geteuid() == 0 ? "--allow-run-as-root " : "") +
            "--oversubscribe -x OMP_NUM_THREADS=1 -np " + std::to_string(np) + " ";
    }
    cmd += quote(exe) + " train --config " + quote(tdir + "/config.ini");
    if (file_exists(tdir + "/checkpoints/latest")) cmd += " --resume";
    cmd += " > " + quote(tdir + "/train.log") + " 2>&1";
    std::printf("%s: training%s ...\n", name.c_str(), file_exists(tdir + "/checkpoints/latest") ? " (resumed)" : "");
    std::fflush(stdout);
    const int rc = std::system(cmd.c_str());
    ++ran;
    const int code = rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
    if (code != 0) {
      ++failed;
      write_file_atomic(tdir + "/FAILED", "exit " + std::to_string(code) + ": " + first_error_line(tdir + "/train.log") + "\n");
      if (first_failure.empty()) first_failure = name + " (exit " + std::to_string(code) + "; " + tdir + "/train.log)";
      std::printf("%s: failed with exit %d, see %s/train.log\n", name.c_str(), code, tdir.c_str());
    } else {
      std::printf("%s: done\n", name.c_str());
    }
  }
  RLAE_CHECK(failed == 0, "rlae sweep run: ", failed, " of ", ran, " trials failed, first ", first_failure);
  std::printf("rlae sweep run: %d trials trained; compare them with 'rlae sweep compare --sweep %s'\n", ran, dir.c_str());
  return kExitOk;
}

int sweep_slurm(int argc, const char* const* argv) {
  po::options_description desc("sweep slurm");
  desc.add_options()
      ("sweep", opt<std::string>("DIR"), "sweep directory made by rlae sweep plan")
      ("ntasks", opt<int>("N", 1), "Slurm tasks (ranks) per trial: 1, or 1+G*K")
      ("time", opt<std::string>("D-HH:MM:SS", "24:00:00"), "time limit per trial")
      ("rlae", opt<std::string>("PATH", ""), "the rlae binary on the cluster (default: this one)")
      ("overcommit", po::bool_switch(), "let a trial's ranks share CPUs (sbatch --overcommit; mpirun --oversubscribe)")
      ("partition", opt<std::string>("NAME", ""), "Slurm partition (default: the cluster's default)")
      ("submit", po::bool_switch(), "submit it with sbatch");
  const CommandSpec spec{"sweep slurm", "write the sweep as a Slurm job array (one task per trial), optionally submit it",
                         "rlae sweep slurm --sweep DIR [--ntasks N] [--submit]"};
  const auto vm_opt = parse_command_options(spec, desc, argc, argv, std::cout);
  if (!vm_opt) return kExitOk;
  const po::variables_map& vm = *vm_opt;
  RLAE_USAGE_CHECK(vm.count("sweep"), "rlae sweep slurm: --sweep DIR is required");
  const int ntasks = vm["ntasks"].as<int>();
  RLAE_USAGE_CHECK(ntasks >= 1, "rlae sweep slurm: --ntasks must be >= 1");
  // Slurm's forms: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS (digits, at most one '-', two ':').
  {
    const std::string t = vm["time"].as<std::string>();
    const size_t dash = t.find('-');
    bool ok = !t.empty() && t.size() <= 16 && t.find('-', dash == std::string::npos ? 0 : dash + 1) == std::string::npos &&
              std::count(t.begin(), t.end(), ':') <= 2 && t.front() != '-' && t.front() != ':' && t.back() != ':' &&
              t.back() != '-' && t.find("::") == std::string::npos && t.find("-:") == std::string::npos;
    for (char c : t) ok = ok && ((c >= '0' && c <= '9') || c == ':' || c == '-');
    RLAE_USAGE_CHECK(ok, "rlae sweep slurm: --time '", t, "' is not a Slurm time (MM, HH:MM:SS, D-HH:MM:SS, ...)");
  }
  const std::string dir = vm["sweep"].as<std::string>();
  const nlohmann::json sweep = read_sweep(dir);
  const size_t n = sweep["trials"].size();
  const bool submit = vm["submit"].as<bool>();
  RLAE_CHECK(!submit || std::system("command -v sbatch > /dev/null 2>&1") == 0,
             "rlae sweep slurm --submit: sbatch not found (is this a Slurm login node?); without --submit the "
             "script is written for you to submit from one");
  char abs_dir[PATH_MAX];
  RLAE_CHECK(::realpath(dir.c_str(), abs_dir) != nullptr, dir, ": cannot resolve");
  const std::string rlae = vm["rlae"].as<std::string>().empty() ? self_exe() : vm["rlae"].as<std::string>();
  std::ostringstream s;
  s << "#!/usr/bin/env bash\n"
    << "# The sweep " << sweep["grid"].get<std::string>() << " as a Slurm job array (rlae sweep slurm).\n"
    << "# Task i trains trial-i (zero-padded to 3 digits); a task that finds a checkpoint resumes it.\n"
    << "#SBATCH --job-name=rlae-sweep\n"
    << "#SBATCH --array=0-" << (n - 1) << "\n"
    << "#SBATCH --ntasks=" << ntasks << "\n"
    << "#SBATCH --time=" << vm["time"].as<std::string>() << "\n"
    << "#SBATCH --output=" << abs_dir << "/slurm-%A_%a.out\n";
  const bool overcommit = vm["overcommit"].as<bool>();
  if (overcommit) s << "#SBATCH --overcommit\n";
  if (!vm["partition"].as<std::string>().empty()) s << "#SBATCH --partition=" << vm["partition"].as<std::string>() << "\n";
  s << "set -uo pipefail\n"
    << "cd " << quote(sweep.value("workdir", std::string("."))) << "  # where rlae sweep plan ran: the configs' paths start there\n"
    << "trial=$(printf '%s/trial-%03d' " << quote(abs_dir) << " \"${SLURM_ARRAY_TASK_ID:?run under Slurm (sbatch)}\")\n"
    << "rlae=${RLAE_BIN:-" << quote(rlae) << "}\n"
    << "resume=()\n"
    << "[ -f \"$trial/checkpoints/latest\" ] && resume=(--resume)\n"
    << "export OMP_NUM_THREADS=${OMP_NUM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}\n"
    << "rm -f \"$trial/FAILED\"\n"
    << "# Several ranks: srun starts them when Slurm has PMIx (Open MPI 4.1 finds its world there);\n"
    << "# otherwise mpirun inside the allocation. One rank: a plain process.\n"
    << "launch=()\n"
    << "if [ \"${SLURM_NTASKS:-1}\" -gt 1 ] && srun --mpi=list 2>&1 | grep -qw pmix; then\n"
    << "  launch=(srun --mpi=pmix" << (overcommit ? " --overcommit" : "") << ")\n"
    << "elif [ \"${SLURM_NTASKS:-1}\" -gt 1 ]; then\n"
    << "  launch=(mpirun -np \"$SLURM_NTASKS\"" << (overcommit ? " --oversubscribe" : "") << ")\n"
    << "  [ \"$(id -u)\" = 0 ] && launch+=(--allow-run-as-root)\n"
    << "fi\n"
    << "echo \"rlae sweep: $trial (task $SLURM_ARRAY_TASK_ID of job ${SLURM_ARRAY_JOB_ID:-?}, ${SLURM_NTASKS:-1} ranks)${resume:+ resumed}\"\n"
    << "\"${launch[@]}\" \"$rlae\" train --config \"$trial/config.ini\" \"${resume[@]}\" 2>&1 | tee -a \"$trial/train.log\"\n"
    << "rc=${PIPESTATUS[0]}\n"
    << "if [ \"$rc\" != 0 ]; then  # rlae sweep compare shows the trial as failed, with this line\n"
    << "  echo \"exit $rc: $(grep -m 1 -i error \"$trial/train.log\")\" > \"$trial/FAILED\"\n"
    << "fi\n"
    << "exit \"$rc\"\n";
  const std::string script = dir + "/sweep.sbatch";
  write_file_atomic(script, s.str());
  std::printf("rlae sweep slurm: %s (%zu array tasks, %d ranks each)\n", script.c_str(), n, ntasks);
  std::fflush(stdout);  // before sbatch prints its own line into the same pipe
  if (submit) {
    if (!overcommit) {
      // A trial with more ranks than any node's CPUs would pend for ever without a word.
      FILE* p = ::popen("sinfo -h -o '%c %D' 2>/dev/null", "r");
      long most = 0;
      if (p != nullptr) {
        long c = 0, nodes = 0;
        while (std::fscanf(p, "%ld %ld", &c, &nodes) == 2) most = std::max(most, c * nodes);
        ::pclose(p);
      }
      RLAE_CHECK(most == 0 || ntasks <= most, "rlae sweep slurm: --ntasks ", ntasks, " but the partitions have at most ",
                 most, " CPUs: the tasks would pend for ever; pass --overcommit to let ranks share CPUs");
    }
    const int rc = std::system(("sbatch " + quote(script)).c_str());
    RLAE_CHECK(rc == 0, "rlae sweep slurm: sbatch ", script, " failed (exit ", WIFEXITED(rc) ? WEXITSTATUS(rc) : rc, ")");
  }
  return kExitOk;
}

int sweep_compare(int argc, const char* const* argv) {
  po::options_description desc("sweep compare");
  desc.add_options()
      ("sweep", opt<std::string>("DIR"), "sweep directory made by rlae sweep plan")
      ("last", opt<int>("N", 50), "average accuracy and reward over each trial's last N iterations")
      ("json", po::bool_switch(), "print JSON instead of a table");
  const CommandSpec spec{"sweep compare", "the sweep's trials side by side, best training accuracy first",
                         "rlae sweep compare --sweep DIR [--last N] [--json]"};
  const auto vm_opt = parse_command_options(spec, desc, argc, argv, std::cout);
  if (!vm_opt) return kExitOk;
  const po::variables_map& vm = *vm_opt;
  RLAE_USAGE_CHECK(vm.count("sweep"), "rlae sweep compare: --sweep DIR is required");
  const int last = vm["last"].as<int>();
  RLAE_USAGE_CHECK(last >= 1, "rlae sweep compare: --last must be >= 1");
  const std::string dir = vm["sweep"].as<std::string>();
  const nlohmann::json sweep = read_sweep(dir);
  struct Row {
    std::string name;
    nlohmann::json point;
    TrialState st;
  };
  std::vector<Row> rows;
  for (const auto& t : sweep["trials"]) {
    const std::string name = t["name"].get<std::string>();
    rows.push_back({name, t["point"], trial_state(dir + "/" + name, last)});
  }
  // Finished trials ranked by accuracy; the others after them, in trial order:
  // a partial trial's accuracy is not comparable with a finished one's.
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    const bool fa = a.st.status == "finished", fb = b.st.status == "finished";
    if (fa != fb) return fa;
    return fa && a.st.accuracy > b.st.accuracy;
  });
  std::vector<std::string> keys;
  for (const auto& a : sweep["axes"]) keys.push_back(a["key"].get<std::string>());
  if (vm["json"].as<bool>()) {
    nlohmann::json out = nlohmann::json::array();
    for (const Row& r : rows) {
      nlohmann::json row = {{"trial", r.name}, {"point", r.point}, {"status", r.st.status}, {"iterations", r.st.done},
                            {"of", r.st.iterations},
                            {"accuracy", r.st.accuracy < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.st.accuracy)},
                            {"reward", r.st.reward < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.st.reward)}};
      if (!r.st.error.empty()) row["error"] = r.st.error;
      out.push_back(row);
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  // Columns as wide as their longest value: path values are shown whole.
  std::vector<size_t> width;
  for (const auto& k : keys) {
    size_t w = k.size();
    for (const Row& r : rows) w = std::max(w, r.point.value(k, std::string("?")).size());
    width.push_back(w);
  }
  auto print_point = [&](const Row& r) {
    std::printf("%-10s", r.name.c_str());
    for (size_t a = 0; a < keys.size(); ++a) {
      std::printf("  %-*s", static_cast<int>(width[a]), r.point.value(keys[a], std::string("?")).c_str());
    }
  };
  auto print_header = [&](const char* tail) {
    std::printf("%-10s", "trial");
    for (size_t a = 0; a < keys.size(); ++a) std::printf("  %-*s", static_cast<int>(width[a]), keys[a].c_str());
    std::printf("%s", tail);
  };
  size_t finished = 0;
  for (const Row& r : rows) finished += r.st.status == "finished";
  std::printf("finished: %zu of %zu trials, best first (accuracy: sampled, mean of the last %d iterations)\n", finished,
              rows.size(), last);
  if (finished > 0) {
    print_header("  iterations  accuracy    reward\n");
    for (const Row& r : rows) {
      if (r.st.status != "finished") continue;
      print_point(r);
      const std::string its = std::to_string(r.st.done) + "/" + std::to_string(r.st.iterations);
      std::printf("  %10s  %7.1f%%  %8.3f\n", its.c_str(), 100.0 * r.st.accuracy, r.st.reward);
    }
  }
  if (finished < rows.size()) {
    std::printf("not finished: %zu (not ranked)\n", rows.size() - finished);
    print_header("  status\n");
    for (const Row& r : rows) {
      if (r.st.status == "finished") continue;
      print_point(r);
      if (r.st.status == "partial") {
        std::printf("  partial at iteration %lld/%lld", static_cast<long long>(r.st.done),
                    static_cast<long long>(r.st.iterations));
        if (r.st.accuracy >= 0) std::printf(" (accuracy so far %.1f%%)", 100.0 * r.st.accuracy);
        std::printf("\n");
      } else if (r.st.status == "failed") {
        std::printf("  failed at iteration %lld: %s\n", static_cast<long long>(r.st.done), r.st.error.c_str());
      } else {
        std::printf("  pending\n");
      }
    }
  }
  return kExitOk;
}

}  // namespace

int cmd_sweep(int argc, const char* const* argv) {
  const std::string sub = argc > 1 ? argv[1] : "";
  if (sub == "plan") return sweep_plan(argc - 1, argv + 1);
  if (sub == "run") return sweep_run(argc - 1, argv + 1);
  if (sub == "slurm") return sweep_slurm(argc - 1, argv + 1);
  if (sub == "compare") return sweep_compare(argc - 1, argv + 1);
  if (sub == "--help" || sub == "-h" || sub.empty()) {
    std::cout << "usage: rlae sweep plan|run|slurm|compare [options]   (rlae sweep plan --help)\n"
                 "  plan     expand a grid file into one rlae train config per trial\n"
                 "  run      train the unfinished trials on this machine, one after another\n"
                 "  slurm    write (and --submit) a Slurm job array, one task per trial\n"
                 "  compare  the trials side by side, best first\n";
    return sub.empty() ? kExitUsage : kExitOk;
  }
  RLAE_USAGE_CHECK(false, "rlae sweep: expected 'plan', 'run', 'slurm' or 'compare', got '", sub, "'");
  return kExitUsage;
}

}  // namespace rlae::cli
