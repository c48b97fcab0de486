// rlae bench train: where a training iteration's wall time goes.
//
// Runs a short `rlae train` on the given members, once per layout (in one
// process, and under mpirun with 1 learner + K actors), and prints the sum over
// its iterations of each part of metrics.jsonl's time breakdown as a share of
// the iterations' wall time: member forwards, the per-step exchange, agent
// decisions, the rest of decoding (features, top-k, mixture, appends, scoring),
// waiting for parameters, the learner update, shard and checkpoint writes.
// The first iteration (start-up, caches) is left out.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/check.h"
#include "common/dataset.h"
#include "common/fs.h"
#include "common/options.h"
#include "common/task_suite.h"
#include "launch/bench.h"
#include "launch/commands.h"

namespace rlae::cli {
namespace {

std::string self_path() {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  RLAE_CHECK(n > 0, "bench train: cannot find the rlae binary");
  self[n] = '\0';
  return self;
}

struct Shares {
  int iterations = 0;
  double wall = 0, forward = 0, exchange = 0, decide = 0, decoding_rest = 0, wait_params = 0, update = 0,
         replay = 0, checkpoint = 0, tokens = 0;
};

Shares read_breakdown(const std::string& metrics) {
  std::ifstream in(metrics);
  RLAE_CHECK(in.good(), metrics, ": no metrics (the training run failed)");
  Shares s;
  std::string line;
  for (int i = 0; std::getline(in, line); ++i) {
    if (i == 0 || line.empty()) continue;  // start-up
    const auto j = nlohmann::json::parse(line);
    const auto& t = j.at("time");
    ++s.iterations;
    s.wall += j.at("seconds").get<double>();
    s.tokens += j.at("tokens").get<double>();
    s.forward += t.at("forward").get<double>();
    s.exchange += t.at("exchange").get<double>();
    s.decide += t.at("decide").get<double>();
    s.decoding_rest += t.at("rollout").get<double>() - t.at("forward").get<double>() - t.at("exchange").get<double>() -
                       t.at("decide").get<double>();
    s.wait_params += t.at("wait_params").get<double>();
    s.update += t.at("update").get<double>();
    s.replay += t.at("replay").get<double>();
    s.checkpoint += t.at("checkpoint").get<double>();
  }
  RLAE_CHECK(s.iterations > 0 && s.wall > 0, metrics, ": too few iterations to measure (use --iterations >= 2)");
  return s;
}

// Under mpirun the actors wait for parameters while the learner updates and
// writes: "wait+" is the waiting beyond the learner's work (transport, publish).
void print_shares(const std::string& layout, const Shares& s, nlohmann::json& out) {
  const double w = s.wall, learner = s.update + s.replay + s.checkpoint;
  const double wait_beyond = std::max(0.0, s.wait_params - learner);
  const double other = w - s.forward - s.exchange - s.decide - s.decoding_rest - learner - wait_beyond;
  std::printf("%-16s %5.1f%% %6.1f%% %6.1f%% %6.1f%% %6.1f%% %6.1f%% %6.1f%% %6.1f%% %8.0f\n", layout.c_str(),
              100 * s.forward / w, 100 * s.exchange / w, 100 * s.decide / w, 100 * s.decoding_rest / w,
              100 * s.update / w, 100 * (s.replay + s.checkpoint) / w, 100 * wait_beyond / w, 100 * other / w,
              s.tokens / w);
  out.push_back({{"layout", layout},        {"iterations", s.iterations},   {"wall_s", w},
                 {"forward", s.forward / w}, {"exchange", s.exchange / w},   {"decide", s.decide / w},
                 {"decoding_rest", s.decoding_rest / w}, {"update", s.update / w},
                 {"writes", (s.replay + s.checkpoint) / w}, {"wait_beyond_learner", wait_beyond / w},
                 {"other", other / w}, {"tokens_per_s", s.tokens / w}});
}

}  // namespace

int bench_train(int argc, const char* const* argv) {
  po::options_description desc("bench train");
  desc.add_options()
      ("members", opt<std::string>("DIR,DIR,..."), "member model directories")
      ("train-data", opt<std::string>("FILE", ""), "training prompts (default: a generated word-problem suite)")
      ("batch", opt<int>("B", 32), "prompts per iteration")
      ("iterations", opt<int>("N", 6), "iterations per layout (the first is not counted)")
      ("max-new-tokens", opt<int>("N", 48), "tokens generated per answer")
      ("layouts", opt<std::string>("LIST", "inprocess,mpirun"), "inprocess and/or mpirun (1 learner + K actors)")
      ("threads", opt<int>("N", 1), "LibTorch threads per process")
      ("json", opt<std::string>("FILE", ""), "also write the shares as JSON");
  const CommandSpec spec{"bench train", "where a training iteration's wall time goes",
                         "rlae bench train --members A,B,C [--batch 32] [--layouts inprocess,mpirun]"};
  const auto vm = parse_command_options(spec, desc, argc, argv, std::cout);
  if (!vm) return kExitOk;
  RLAE_USAGE_CHECK(vm->count("members"), "rlae bench train: --members DIR,DIR,... is required");
  RLAE_USAGE_CHECK((*vm)["iterations"].as<int>() >= 2, "rlae bench train: --iterations must be >= 2");
  RLAE_USAGE_CHECK((*vm)["max-new-tokens"].as<int>() >= 1 && (*vm)["batch"].as<int>() >= 1,
                   "rlae bench train: --max-new-tokens and --batch must be >= 1");
  for (const std::string& layout : split_list((*vm)["layouts"].as<std::string>(), "--layouts"))
    RLAE_USAGE_CHECK(layout == "inprocess" || layout == "mpirun", "rlae bench train: --layouts: inprocess or mpirun, got '",
                     layout, "'");
  const auto members = split_list((*vm)["members"].as<std::string>(), "--members");
  for (const auto& d : members) RLAE_CHECK(file_exists(d + "/config.json"), d, ": not a model directory (no config.json)");
  char tmpl[] = "/tmp/rlae-bench-train-XXXXXX";
  RLAE_CHECK(::mkdtemp(tmpl) != nullptr, "bench train: cannot create a temporary directory");
  const std::string tmp = tmpl;
  std::string data = (*vm)["train-data"].as<std::string>();
  if (data.empty()) {
    SuiteOptions so;
    so.train_per_family = 200;
    so.dev_per_family = so.test_per_family = 0;
    data = tmp + "/train.jsonl";
    write_dataset(data, make_task_suite(so).train);
  }
  const std::string self = self_path();
  std::string args = " train --members '" + (*vm)["members"].as<std::string>() + "' --train-data '" + data +
                     "' --batch " + std::to_string((*vm)["batch"].as<int>()) + " --slots " +
                     std::to_string((*vm)["batch"].as<int>()) + " --iterations " +
                     std::to_string((*vm)["iterations"].as<int>()) + " --max-new-tokens " +
                     std::to_string((*vm)["max-new-tokens"].as<int>()) + " --threads " +
                     std::to_string((*vm)["threads"].as<int>()) + " --checkpoint-every 1000 --max-policy-lag 0";
  std::printf("shares of wall time over iterations 2..%d, batch %d, %zu members\n", (*vm)["iterations"].as<int>(),
              (*vm)["batch"].as<int>(), members.size());
  std::printf("%-16s %6s %7s %7s %7s %7s %7s %7s %7s %8s\n", "layout", "fwd", "exch", "decide", "decode+", "update",
              "writes", "wait+", "other", "tok/s");
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& layout : split_list((*vm)["layouts"].as<std::string>(), "--layouts")) {
    const std::string dir = tmp + "/" + layout;
    std::string cmd;
    if (layout == "inprocess") {
      cmd = "'" + self + "'" + args + " --out '" + dir + "'";
    } else if (layout == "mpirun") {
      cmd = "mpirun " + std::string(::getuid() == 0 ? "--allow-run-as-root " : "") +
            "--oversubscribe -x OMP_NUM_THREADS=1 -np " + std::to_string(1 + members.size()) + " '" + self + "'" +
            args + " --out '" + dir + "'";
    } else {
      RLAE_USAGE_CHECK(false, "rlae bench train: --layouts: inprocess or mpirun, got '", layout, "'");
    }
    run_command(cmd + " >'" + dir + ".log' 2>&1");
    print_shares(layout, read_breakdown(dir + "/metrics.jsonl"), out);
  }
  std::printf("fwd: member forwards; exch: per-step collectives (waiting for slower members included); decide: agent\n"
              "decisions; decode+: the rest of decoding (features, top-k, mixture, appends, scoring); update: PPO;\n"
              "writes: replay shard + checkpoint; wait+: actors waiting for parameters beyond the learner's update\n"
              "and writes (transport); other: the rest (metrics, publishing, start of the next rollout).\n");
  if (!(*vm)["json"].as<std::string>().empty()) write_file_atomic((*vm)["json"].as<std::string>(), out.dump(2) + "\n");
  run_command("rm -rf '" + tmp + "'");
  return kExitOk;
}

}  // namespace rlae::cli
