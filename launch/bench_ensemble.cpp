// rlae bench ensemble: the ensemble's own cost beside its members' forward time.
//
// Runs the same greedy decoding work at each batch size with the K members in
// one process (one thread each, in-process group) and reports, per batch size:
// tokens/s, the members' forward time, and the ensemble overhead: time on the
// members' threads outside their model calls and outside waiting in the
// exchange (features, decisions, top-k, mixture, appends, bookkeeping), as a
// fraction of the members' forward time.
#include <ATen/Parallel.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "actors/ensemble.h"
#include "common/check.h"
#include "common/fs.h"
#include "common/dataset.h"
#include "common/options.h"
#include "common/prompt.h"
#include "common/task_suite.h"
#include "launch/bench.h"
#include "launch/commands.h"
#include "launch/model_options.h"

namespace rlae::cli {

int bench_ensemble(int argc, const char* const* argv) {
  po::options_description desc("bench ensemble");
  desc.add_options()
      ("models", opt<std::string>("DIR,DIR,..."), "member model directories")
      ("batches", opt<std::string>("LIST", "1,32"), "batch sizes")
      ("new-tokens", opt<int>("N", 32), "tokens generated per prompt")
      ("mix", opt<std::string>("sparse|dense|full", "sparse"), "mixture mode")
      ("top-k", opt<int>("K", 10), "sparse payload per member")
      ("span", opt<int>("L", 4), "tokens per weight decision")
      ("policy", opt<std::string>("POLICY", "uniform"), "weight policy (see rlae eval --help)")
      ("json", opt<std::string>("FILE", ""), "also write the results as JSON");
  add_model_options(desc);
  const CommandSpec spec{"bench ensemble", "ensemble overhead against the members' forward time",
                         "rlae bench ensemble --models A,B,C [--batches 1,32]"};
  const auto vm = parse_command_options(spec, desc, argc, argv, std::cout);
  if (!vm) return kExitOk;
  RLAE_USAGE_CHECK(vm->count("models"), "rlae bench ensemble: --models DIR,DIR,... is required");
  const auto dirs = option_values("rlae bench ensemble: ", [&] { return split_list((*vm)["models"].as<std::string>(), "--models"); });
  const std::vector<int64_t> batches = parse_int_list((*vm)["batches"].as<std::string>(), "--batches", 1, 1 << 20);
  EnsembleOptions eo;
  eo.max_new_tokens = (*vm)["new-tokens"].as<int>();
  eo.mode = option_values("rlae bench ensemble: ", [&] { return parse_mix_mode((*vm)["mix"].as<std::string>()); });
  eo.top_k = (*vm)["top-k"].as<int>();
  eo.span = (*vm)["span"].as<int>();
  RLAE_USAGE_CHECK(eo.max_new_tokens >= 1 && eo.top_k >= 1 && eo.span >= 1,
                   "rlae bench ensemble: --new-tokens, --top-k and --span must be >= 1");
  (void)option_values("rlae bench ensemble: ", [&] { return make_policy((*vm)["policy"].as<std::string>(), dirs); });
  // Word problems from the suite as prompts: realistic lengths and text.
  SuiteOptions so;
  so.train_per_family = 0;
  so.dev_per_family = 0;
  so.test_per_family = 8;
  const Suite suite = make_task_suite(so);

  nlohmann::json results = nlohmann::json::array();
  std::printf("%6s %10s %12s %12s %10s\n", "batch", "tokens/s", "forward s", "overhead s", "overhead");
  for (const int64_t batch : batches) {
    std::vector<Member> members;
    for (const auto& d : dirs) members.push_back(load_member(d, model_options_from(*vm, batch)));
    const UnionVocab vocab = UnionVocab::build(vocab_members(members));
    std::vector<EnsemblePrompt> prompts;
    for (int64_t i = 0; i < batch; ++i) {
      const Problem& p = suite.test[static_cast<size_t>(i) % suite.test.size()];
      prompts.push_back({format_prompt(p.question), p.task});
    }
    const std::string spec_policy = (*vm)["policy"].as<std::string>();
    auto make = [&](int) { return make_policy(spec_policy, dirs); };
    std::vector<EnsembleStats> st;
    ensemble_decode_inprocess(members, vocab, make, prompts, eo, &st);  // warm-up
    ensemble_decode_inprocess(members, vocab, make, prompts, eo, &st);
    double forward = 0, overhead = 0, wall = 0;
    int64_t tokens = st[0].tokens;
    for (const auto& s : st) {
      forward += s.forward_seconds;
      overhead += s.seconds - s.forward_seconds - s.exchange_seconds;
      wall = std::max(wall, s.seconds);
    }
    std::printf("%6lld %10.1f %12.3f %12.3f %9.1f%%\n", static_cast<long long>(batch), tokens / wall, forward,
                overhead, 100.0 * overhead / forward);
    std::fflush(stdout);
    results.push_back({{"batch", batch}, {"tokens_per_s", tokens / wall}, {"forward_s", forward},
                       {"overhead_s", overhead}, {"overhead_ratio", overhead / forward}, {"members", dirs},
                       {"mix", (*vm)["mix"].as<std::string>()}, {"top_k", eo.top_k}});
  }
  const std::string json_path = (*vm)["json"].as<std::string>();
  if (!json_path.empty()) write_file_atomic(json_path, results.dump(2) + "\n");
  return kExitOk;
}

}  // namespace rlae::cli
