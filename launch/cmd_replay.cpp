// rlae replay: a run's HDF5 replay shards, offline, without the members.
//
//   rlae replay inspect --run DIR [--windows N] [--json]   accuracy and weights per family over training
//   rlae replay export  --run DIR --out FILE.jsonl         one JSON line per episode
//   rlae replay train   --run DIR --out NEW [train opts]   re-train the agents from the shards
//   rlae replay seal    FILE...                            adopt shards made or edited outside rlae
#include <unistd.h>

#include <ATen/ATen.h>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/check.h"
#include "common/fs.h"
#include "common/options.h"
#include "common/sweep_grid.h"
#include "launch/commands.h"
#include "launch/train_options.h"
#include "learner/replay.h"
#include "learner/replay_train.h"

namespace rlae::cli {
namespace {

// Member names for table headers: the basenames of the run's --members, when
// its config.ini is there and names K of them; m0, m1, ... otherwise.
std::vector<std::string> member_names(const std::string& run, int64_t K) {
  std::vector<std::string> names;
  if (file_exists(run + "/config.ini")) {
    for (const auto& [key, value] : read_ini_settings(run + "/config.ini")) {
      if (key != "members") continue;
      for (std::string d : split_list(value, "members")) {
        while (!d.empty() && d.back() == '/') d.pop_back();
        names.push_back(d.substr(d.find_last_of('/') + 1));
      }
    }
  }
  if (static_cast<int64_t>(names.size()) != K) {
    names.clear();
    for (int64_t k = 0; k < K; ++k) names.push_back("m" + std::to_string(k));
  }
  return names;
}

struct FamilyStats {
  int64_t episodes = 0, correct = 0, steps = 0;
  std::vector<double> weight_sum;  // [K] over steps
};

struct Window {
  int64_t first = -1, last = -1, episodes = 0, correct = 0;
  std::map<std::string, FamilyStats> families;
};

int replay_inspect(int argc, const char* const* argv) {
  po::options_description desc("replay inspect");
  desc.add_options()
      ("run", opt<std::string>("DIR"), "run directory of rlae train (DIR/replay/shard-*.h5)")
      ("windows", opt<int>("N", 4), "split the run's iterations into N windows")
      ("json", po::bool_switch(), "print JSON instead of tables");
  const CommandSpec spec{"replay inspect", "accuracy and mean ensemble weights per task family over training",
                         "rlae replay inspect --run DIR [--windows N] [--json]"};
  const auto vm_opt = parse_command_options(spec, desc, argc, argv, std::cout, "run");
  if (!vm_opt) return kExitOk;
  const po::variables_map& vm = *vm_opt;
  RLAE_USAGE_CHECK(vm.count("run"), "rlae replay inspect: --run DIR is required");
  const int windows = vm["windows"].as<int>();
  RLAE_USAGE_CHECK(windows >= 1, "rlae replay inspect: --windows must be >= 1");
  const std::string run = vm["run"].as<std::string>();
  const std::vector<std::string> shards = list_replay_shards(run);

  const int64_t n = static_cast<int64_t>(shards.size());
  std::vector<Window> win(static_cast<size_t>(std::min<int64_t>(windows, n)));
  std::set<std::string> hashes, algos;
  int64_t K = -1, steps = 0, episodes = 0, first_it = -1, last_it = -1;
  for (int64_t i = 0; i < n; ++i) {
    ShardInfo info;
    const TrajectoryBatch b = read_replay_shard(shards[static_cast<size_t>(i)], &info);
    if (K < 0) K = b.weights.size(1);
    RLAE_CHECK(b.weights.size(1) == K, shards[static_cast<size_t>(i)], ": ", b.weights.size(1),
               " members, the first shard has ", K);
    hashes.insert(info.config_hash);
    algos.insert(info.algo);
    if (first_it < 0) first_it = info.iteration;
    last_it = info.iteration;
    steps += b.num_steps();
    episodes += b.num_episodes();
    Window& w = win[static_cast<size_t>(i * static_cast<int64_t>(win.size()) / n)];
    if (w.first < 0) w.first = info.iteration;
    w.last = info.iteration;
    const auto ep = b.episode.accessor<int64_t, 1>();
    const auto wt = b.weights.accessor<float, 2>();
    for (int64_t s = 0; s < b.num_steps(); ++s) {
      FamilyStats& f = w.families[b.task[static_cast<size_t>(ep[s])]];
      f.weight_sum.resize(static_cast<size_t>(K), 0.0);
      for (int64_t k = 0; k < K; ++k) f.weight_sum[static_cast<size_t>(k)] += wt[s][k];
      ++f.steps;
    }
    for (int64_t e = 0; e < b.num_episodes(); ++e) {
      FamilyStats& f = w.families[b.task[static_cast<size_t>(e)]];
      f.weight_sum.resize(static_cast<size_t>(K), 0.0);
      ++f.episodes;
      f.correct += b.correct[static_cast<size_t>(e)];
      ++w.episodes;
      w.correct += b.correct[static_cast<size_t>(e)];
    }
  }
  const std::vector<std::string> names = member_names(run, K);
  auto join = [](const std::set<std::string>& s) {
    std::string out;
    for (const auto& x : s) out += (out.empty() ? "" : ",") + x;
    return out;
  };
  if (vm["json"].as<bool>()) {
    nlohmann::json j = {{"run", run},       {"shards", n},          {"first_iteration", first_it},
                        {"last_iteration", last_it}, {"episodes", episodes}, {"steps", steps},
                        {"algo", join(algos)}, {"config_hashes", std::vector<std::string>(hashes.begin(), hashes.end())},
                        {"members", names}};
    for (const Window& w : win) {
      nlohmann::json jw = {{"first_iteration", w.first}, {"last_iteration", w.last}, {"episodes", w.episodes},
                           {"accuracy", static_cast<double>(w.correct) / std::max<int64_t>(1, w.episodes)}};
      for (const auto& [task, f] : w.families) {
        std::vector<double> mean;
        for (double s : f.weight_sum) mean.push_back(f.steps ? s / static_cast<double>(f.steps) : 0.0);
        jw["families"][task] = {{"episodes", f.episodes},
                                {"accuracy", static_cast<double>(f.correct) / std::max<int64_t>(1, f.episodes)},
                                {"mean_weights", mean}};
      }
      j["windows"].push_back(jw);
    }
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  std::printf("%s: %lld shards (iterations %lld-%lld), algo %s, %lld episodes, %lld span steps\n", run.c_str(),
              static_cast<long long>(n), static_cast<long long>(first_it), static_cast<long long>(last_it),
              join(algos).c_str(), static_cast<long long>(episodes), static_cast<long long>(steps));
  if (hashes.size() > 1) {
    std::printf("note: the shards come from %zu different configurations (config_hash %s)\n", hashes.size(),
                join(hashes).c_str());
  }
  for (const Window& w : win) {
    std::printf("\niterations %lld-%lld: %lld episodes, accuracy %.1f%%\n", static_cast<long long>(w.first),
                static_cast<long long>(w.last), static_cast<long long>(w.episodes),
                100.0 * static_cast<double>(w.correct) / static_cast<double>(std::max<int64_t>(1, w.episodes)));
    std::printf("  %-12s %8s %9s", "family", "episodes", "accuracy");
    for (const auto& m : names) std::printf(" %8.8s", m.c_str());
    std::printf("   (mean weight per span)\n");
    for (const auto& [task, f] : w.families) {
      std::printf("  %-12s %8lld %8.1f%%", task.empty() ? "-" : task.c_str(), static_cast<long long>(f.episodes),
                  100.0 * static_cast<double>(f.correct) / static_cast<double>(std::max<int64_t>(1, f.episodes)));
      for (double s : f.weight_sum) std::printf(" %8.3f", f.steps ? s / static_cast<double>(f.steps) : 0.0);
      std::printf("\n");
    }
  }
  return kExitOk;
}

int replay_export(int argc, const char* const* argv) {
  po::options_description desc("replay export");
  desc.add_options()
      ("run", opt<std::string>("DIR"), "run directory of rlae train (DIR/replay/shard-*.h5)")
      ("out", opt<std::string>("FILE"), "JSONL file to write (atomically)");
  const CommandSpec spec{"replay export", "every episode of a run's replay shards as one JSON line",
                         "rlae replay export --run DIR --out FILE.jsonl"};
  const auto vm_opt = parse_command_options(spec, desc, argc, argv, std::cout, "run");
  if (!vm_opt) return kExitOk;
  const po::variables_map& vm = *vm_opt;
  RLAE_USAGE_CHECK(vm.count("run") && vm.count("out"), "rlae replay export: --run DIR and --out FILE are required");
  const std::vector<std::string> shards = list_replay_shards(vm["run"].as<std::string>());
  std::string text;
  int64_t episodes = 0;
  for (const std::string& path : shards) {
    ShardInfo info;
    const TrajectoryBatch b = read_replay_shard(path, &info);
    const auto ep = b.episode.accessor<int64_t, 1>();
    std::vector<nlohmann::json> rows(static_cast<size_t>(b.num_episodes()));
    for (int64_t e = 0; e < b.num_episodes(); ++e) {
      const size_t i = static_cast<size_t>(e);
      rows[i] = {{"iteration", info.iteration}, {"prompt_id", b.prompt_id[i]}, {"task", b.task[i]},
                 {"text", b.text[i]},           {"correct", b.correct[i] != 0}, {"reward", 0.0},
                 {"weights", nlohmann::json::array()}, {"values", nlohmann::json::array()},
                 {"policy_version", nlohmann::json::array()}};
    }
    for (int64_t s = 0; s < b.num_steps(); ++s) {
      nlohmann::json& r = rows[static_cast<size_t>(ep[s])];
      std::vector<float> w(b.weights[s].data_ptr<float>(), b.weights[s].data_ptr<float>() + b.weights.size(1));
      r["weights"].push_back(w);
      r["values"].push_back(b.values[s].item<float>());
      r["policy_version"].push_back(b.policy_version[s].item<int64_t>());
      r["reward"] = r["reward"].get<double>() + b.rewards[s].item<float>();
    }
    // Generated text can end inside a multi-byte character: invalid UTF-8 is
    // written as U+FFFD here (the shard keeps the exact bytes).
    for (const auto& r : rows) text += r.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    episodes += b.num_episodes();
  }
  const std::string out = vm["out"].as<std::string>();
  write_file_atomic(out, text);
  std::printf("rlae replay export: %lld episodes from %zu shards -> %s\n", static_cast<long long>(episodes),
              shards.size(), out.c_str());
  return kExitOk;
}

bool given(int argc, const char* const* argv, const std::string& name) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--" + name || a.rfind("--" + name + "=", 0) == 0) return true;
  }
  return false;
}

int replay_train_cmd(int argc, const char* const* argv) {
  po::options_description replay("Replay");
  replay.add_options()
      ("run", opt<std::string>("DIR"), "the run whose shards to learn from (DIR/replay/shard-*.h5)")
      ("passes", opt<int>("N", 1), "passes over the shards");
  po::options_description desc = train_options();
  desc.add(replay);
  const CommandSpec spec{
      "replay train", "re-train the agents from a run's replay shards, without running the members",
      "rlae replay train --run DIR --out NEW [rlae train options]   (DIR/config.ini is read first; "
      "options given here override it)"};
  // The run's own resolved configuration underlies the command line.
  std::vector<const char*> args(argv, argv + argc);
  std::string run_config;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--run") run_config = std::string(argv[i + 1]) + "/config.ini";
  }
  if (!given(argc, argv, "help") && !given(argc, argv, "config") && !run_config.empty()) {
    RLAE_CHECK(file_exists(run_config), run_config, ": missing (is --run an rlae train run directory?)");
    args.insert(args.begin() + 1, {"--config", run_config.c_str()});
  }
  const auto vm_opt =
      parse_command_options(spec, desc, static_cast<int>(args.size()), args.data(), std::cout);
  if (!vm_opt) return kExitOk;
  const po::variables_map& vm = *vm_opt;
  RLAE_USAGE_CHECK(vm.count("run"), "rlae replay train: --run DIR is required");
  RLAE_USAGE_CHECK(given(argc, argv, "out"), "rlae replay train: --out NEW is required (a new run directory)");
  const int passes = vm["passes"].as<int>();
  RLAE_USAGE_CHECK(passes >= 1, "rlae replay train: --passes must be >= 1");
  const std::string run = vm["run"].as<std::string>();
  TrainConfig cfg = train_config_from(vm);
  char a[PATH_MAX], b[PATH_MAX];
  make_dirs(cfg.out);
  RLAE_USAGE_CHECK(::realpath(run.c_str(), a) == nullptr || ::realpath(cfg.out.c_str(), b) == nullptr ||
                       std::string(a) != std::string(b),
                   "rlae replay train: --out must be a new directory, not the run itself (", run, ")");
  const std::vector<std::string> shards = list_replay_shards(run);
  const std::string resolved = format_resolved_config(desc, vm);
  cfg.config_hash = config_hash(resolved);

  const bool tty = ::isatty(STDERR_FILENO);
  const int64_t total = static_cast<int64_t>(shards.size()) * passes;
  const ReplayTrainResult res = replay_train(cfg, shards, passes, [&](const IterationMetrics& m) {
    std::fprintf(stderr, "%s[update %lld/%lld] entropy %.3f  kl %.4f  clip %.2f  vloss %.4f%s", tty ? "\r" : "",
                 static_cast<long long>(m.iteration), static_cast<long long>(total), m.entropy, m.approx_kl,
                 m.clip_fraction, m.value_loss, tty ? "   " : "\n");
  });
  if (tty) std::fprintf(stderr, "\n");
  write_file_atomic(cfg.out + "/config.ini", resolved);
  std::printf("rlae replay train: %lld updates from %zu shards of %s; last checkpoint %s\n",
              static_cast<long long>(res.updates), shards.size(), run.c_str(), res.last_checkpoint.c_str());
  return kExitOk;
}

// A shard edited with h5py (rewards relabelled, episodes filtered) no longer
// matches its frame, and one written by another tool has none: read_replay_shard
// refuses both. `seal` reads such a file without the frame check, checks it as a
// trajectory batch of the schema and rewrites it with a frame, in place. Only
// for files one vouches for: libhdf5 parses whatever they hold.
int replay_seal(int argc, const char* const* argv) {
  if (argc >= 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    std::cout << "usage: rlae replay seal FILE...\n"
                 "  checks each HDF5 file as a replay shard of the documented schema (learner/replay.h) and\n"
                 "  rewrites it with rlae's frame (size + CRC-32), so that inspect/export/train accept it:\n"
                 "  for shards made or edited outside rlae (h5py). Files that fail the check are left as they are.\n";
    return kExitOk;
  }
  RLAE_USAGE_CHECK(argc >= 2, "rlae replay seal: expected one or more shard files (rlae replay seal FILE...)");
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    RLAE_USAGE_CHECK(a.empty() || a[0] != '-', "rlae replay seal: unknown option '", a, "' (usage: rlae replay seal FILE...)");
  }
  for (int i = 1; i < argc; ++i) {
    seal_replay_shard(argv[i]);
    std::printf("rlae replay seal: %s\n", argv[i]);
  }
  return kExitOk;
}

}  // namespace

int cmd_replay(int argc, const char* const* argv) {
  const std::string sub = argc > 1 ? argv[1] : "";
  if (sub == "inspect") return replay_inspect(argc - 1, argv + 1);
  if (sub == "export") return replay_export(argc - 1, argv + 1);
  if (sub == "train") return replay_train_cmd(argc - 1, argv + 1);
  if (sub == "seal") return replay_seal(argc - 1, argv + 1);
  if (sub == "--help" || sub == "-h" || sub.empty()) {
    std::cout << "usage: rlae replay inspect|export|train|seal [options]   (rlae replay train --help)\n"
                 "  inspect  accuracy and mean ensemble weights per task family over a run\n"
                 "  export   every episode as one JSON line\n"
                 "  train    re-train the agents from the shards, without running the members\n"
                 "  seal     adopt shards made or edited outside rlae (h5py): check them, add rlae's frame\n";
    return sub.empty() ? kExitUsage : kExitOk;
  }
  RLAE_USAGE_CHECK(false, "rlae replay: expected 'inspect', 'export', 'train' or 'seal', got '", sub, "'");
  return kExitUsage;
}

}  // namespace rlae::cli
