// rlae eval: accuracy per task family and speed of one member, or of an
// ensemble under one or more weight policies (fixed baselines and trained RLAE
// checkpoints side by side in one table).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "actors/agent_policy.h"
#include "actors/ensemble.h"
#include "actors/evaluate.h"
#include "actors/generate.h"
#include "actors/policy.h"
#include "common/check.h"
#include "common/fs.h"
#include "common/options.h"
#include "launch/commands.h"
#include "launch/model_options.h"
#include "actors/agent_checkpoint.h"

namespace rlae::cli {
namespace {

class MemberSource final : public AnswerSource {
 public:
  MemberSource(Member& m, const GenerateOptions& o) : m_(m), o_(o) {}
  std::string name() const override { return m_.dir; }
  std::vector<std::string> answer(const std::vector<std::string>& prompts, const std::vector<std::string>&,
                                  int64_t* tokens) override {
    GenerateStats st;
    const auto gens = generate(*m_.model, m_.tokenizer, prompts, o_, &st);
    *tokens += st.generated_tokens;
    std::vector<std::string> out;
    for (const auto& g : gens) out.push_back(g.text);
    return out;
  }

 private:
  Member& m_;
  GenerateOptions o_;
};

class EnsembleSource final : public AnswerSource {
 public:
  EnsembleSource(std::vector<Member>& members, const UnionVocab& vocab, std::string spec,
                 const std::vector<std::string>& dirs, const EnsembleOptions& o)
      : members_(members), vocab_(vocab), spec_(std::move(spec)), o_(o) {
    if (spec_.rfind("rlae:", 0) == 0) {
      agents_ = std::make_unique<AgentSet>(load_agents(spec_.substr(5), dirs));
    }
    for (size_t m = 0; m < members.size(); ++m) {
      if (agents_) {
        policies_.push_back(std::make_unique<AgentPolicy>(*agents_, /*sample=*/false, 0, /*record=*/false));
      } else {
        policies_.push_back(make_policy(spec_, dirs));
      }
    }
  }
  std::string name() const override { return spec_; }
  std::vector<std::string> answer(const std::vector<std::string>& prompts, const std::vector<std::string>& tasks,
                                  int64_t* tokens) override {
    std::vector<EnsemblePrompt> ps;
    for (size_t i = 0; i < prompts.size(); ++i) ps.push_back({prompts[i], tasks[i]});
    std::vector<WeightPolicy*> steer;
    for (auto& p : policies_) steer.push_back(p.get());
    std::vector<EnsembleStats> st;
    const auto res = ensemble_decode_inprocess(members_, vocab_, steer, ps, o_, &st);
    *tokens += st[0].tokens;
    std::vector<std::string> out;
    weights_.clear();
    for (const auto& r : res) {
      out.push_back(r.text);
      weights_.push_back(r.decisions);
    }
    return out;
  }
  std::vector<std::vector<std::vector<float>>> last_weights() const override { return weights_; }

 private:
  std::vector<Member>& members_;
  const UnionVocab& vocab_;
  std::string spec_;
  EnsembleOptions o_;
  std::unique_ptr<AgentSet> agents_;
  std::vector<std::unique_ptr<WeightPolicy>> policies_;
  std::vector<std::vector<std::vector<float>>> weights_;
};

}  // namespace

int cmd_eval(int argc, const char* const* argv) {
  po::options_description desc("eval");
  desc.add_options()
      ("model", opt<std::string>("DIR"), "one member model directory")
      ("models", opt<std::string>("DIR,DIR,..."), "ensemble members (with --policy)")
      ("policy", po::value<std::vector<std::string>>()->value_name("POLICY")->composing(),
       "uniform | weights:W,.. | single:NAME|INDEX | packllm[:T] | gac-threshold:P[:PRIMARY] | schedule:FILE | "
       "rlae:CHECKPOINT; repeat to compare policies in one table (default uniform)")
      ("data", opt<std::string>("FILE"), "dataset (rlae or GSM8K JSONL)")
      ("families", opt<std::string>("LIST", ""), "only these task families")
      ("per-family", opt<int>("N", 0), "the first N problems of each family (0: all)")
      ("batch", opt<int>("N", 32), "sequences decoded at once")
      ("max-new-tokens", opt<int>("N", 128), "tokens generated per answer at most")
      ("span", opt<int>("L", 4), "ensemble: tokens per weight decision")
      ("mix", opt<std::string>("sparse|dense|full", "sparse"), "ensemble: mixture mode")
      ("top-k", opt<int>("K", 10), "ensemble: sparse payload per member")
      ("temperature", opt<double>("T", 0.0), "0: greedy; > 0 samples (seeded, the same on every rank)")
      ("seed", opt<long long>("S", 0), "sampling seed")
      ("answer-mode", opt<std::string>("numeric|exact", "numeric"), "answer check")
      ("out", opt<std::string>("FILE", ""), "write the results as JSON")
      ("records", po::bool_switch(), "include every problem's output (and, for ensembles, the weights of every decision) in the JSON");
  add_model_options(desc);
  const CommandSpec spec{"eval", "accuracy per task family and speed on a dataset",
                         "rlae eval --model DIR --data FILE | rlae eval --models A,B,C --policy P [--policy Q] --data FILE"};
  const auto vm_opt = parse_command_options(spec, desc, argc, argv, std::cout);
  if (!vm_opt) return kExitOk;
  const po::variables_map& vm = *vm_opt;
  RLAE_USAGE_CHECK(vm.count("model") != vm.count("models"), "rlae eval: give --model DIR or --models DIR,DIR,...");
  RLAE_USAGE_CHECK(vm.count("data"), "rlae eval: --data FILE is required");
  RLAE_USAGE_CHECK(vm["batch"].as<int>() >= 1 && vm["max-new-tokens"].as<int>() >= 1,
                   "rlae eval: --batch and --max-new-tokens must be >= 1");
  RLAE_USAGE_CHECK(vm["span"].as<int>() >= 1 && vm["top-k"].as<int>() >= 1, "rlae eval: --span and --top-k must be >= 1");
  RLAE_USAGE_CHECK(vm["per-family"].as<int>() >= 0, "rlae eval: --per-family must be >= 0 (0: all)");
  const double temperature = vm["temperature"].as<double>();
  RLAE_USAGE_CHECK(temperature >= 0 && std::isfinite(temperature),
                   "rlae eval: --temperature must be >= 0 (0: greedy), got ", temperature);
  // Option values checked before any file is read.
  std::vector<std::string> families;
  option_values("rlae eval: ", [&] {
    if (!vm["families"].as<std::string>().empty()) families = split_list(vm["families"].as<std::string>(), "--families");
    (void)parse_answer_mode(vm["answer-mode"].as<std::string>());
    (void)parse_mix_mode(vm["mix"].as<std::string>());
    if (!vm.count("models")) return;
    const auto names = split_list(vm["models"].as<std::string>(), "--models");
    // Policy specs whose argument is not a file (schedule:FILE and rlae:CHECKPOINT are read later).
    if (vm.count("policy"))
      for (const auto& p : vm["policy"].as<std::vector<std::string>>())
        if (p.rfind("schedule:", 0) != 0 && p.rfind("rlae:", 0) != 0) (void)make_policy(p, names);
  });
  const auto problems = select_problems(load_dataset(vm["data"].as<std::string>()), families, vm["per-family"].as<int>());
  RLAE_CHECK(!problems.empty(), vm["data"].as<std::string>(), ": no problems of the families given");
  EvalOptions eo;
  eo.mode = parse_answer_mode(vm["answer-mode"].as<std::string>());
  eo.chunk = std::max(vm["batch"].as<int>() * 4, 32);
  const bool tty = ::isatty(STDERR_FILENO);
  eo.progress = [&](int64_t done, int64_t total, const FamilyScore& s, double tps) {
    std::fprintf(stderr, "%seval: %lld/%lld problems, accuracy %.1f%%, %.0f tokens/s%s", tty ? "\r" : "",
                 static_cast<long long>(done), static_cast<long long>(total), 100.0 * s.accuracy(), tps,
                 tty ? "   " : "\n");
    std::fflush(stderr);
  };
  const ModelOptions mo = model_options_from(vm, vm["batch"].as<int>());
  std::vector<EvalReport> reports;
  if (vm.count("model")) {
    Member m = load_member(vm["model"].as<std::string>(), mo);
    check_prompts_fit(m, problems, vm["data"].as<std::string>(), vm["max-new-tokens"].as<int>());
    GenerateOptions go;
    go.max_new_tokens = vm["max-new-tokens"].as<int>();
    go.temperature = vm["temperature"].as<double>();
    go.seed = static_cast<uint64_t>(vm["seed"].as<long long>());
    MemberSource src(m, go);
    reports.push_back(evaluate(problems, src, eo));
  } else {
    const auto dirs = split_list(vm["models"].as<std::string>(), "--models");
    std::vector<Member> members;
    for (const auto& d : dirs) members.push_back(load_member(d, mo));
    for (const Member& m : members)
      check_prompts_fit(m, problems, vm["data"].as<std::string>(), vm["max-new-tokens"].as<int>());
    const UnionVocab vocab = UnionVocab::build(vocab_members(members));
    EnsembleOptions ens;
    ens.max_new_tokens = vm["max-new-tokens"].as<int>();
    ens.span = vm["span"].as<int>();
    ens.mode = parse_mix_mode(vm["mix"].as<std::string>());
    ens.top_k = vm["top-k"].as<int>();
    ens.temperature = vm["temperature"].as<double>();
    ens.seed = static_cast<uint64_t>(vm["seed"].as<long long>());
    std::vector<std::string> policies = {"uniform"};
    if (vm.count("policy")) policies = vm["policy"].as<std::vector<std::string>>();
    // Every policy is built (and checked) before any decoding starts.
    std::vector<std::unique_ptr<EnsembleSource>> sources;
    for (const auto& p : policies) sources.push_back(std::make_unique<EnsembleSource>(members, vocab, p, dirs, ens));
    for (auto& s : sources) reports.push_back(evaluate(problems, *s, eo));
  }
  if (tty) std::fprintf(stderr, "\n");

  std::printf("%-12s", "family");
  for (const auto& r : reports) std::printf(" %20.20s", r.source.c_str());
  std::printf("\n");
  for (const auto& [task, _] : reports[0].families) {
    std::printf("%-12s", task.c_str());
    for (const auto& r : reports) {
      const FamilyScore& f = r.families.at(task);
      std::printf(" %12.1f%% (%4lld)", 100.0 * f.accuracy(), static_cast<long long>(f.problems));
    }
    std::printf("\n");
  }
  std::printf("%-12s", "overall");
  for (const auto& r : reports) {
    std::printf(" %12.1f%% (%4lld)", 100.0 * r.overall.accuracy(), static_cast<long long>(r.overall.problems));
  }
  std::printf("\n%-12s", "tokens/s");
  for (const auto& r : reports) std::printf(" %20.1f", r.tokens_per_s());
  std::printf("\n%-12s", "ms/token");
  for (const auto& r : reports) std::printf(" %20.3f", r.ms_per_token());
  std::printf("\n");
  const std::string out = vm["out"].as<std::string>();
  if (!out.empty()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : reports) j.push_back(nlohmann::json::parse(r.to_json(vm["records"].as<bool>())));
    write_file_atomic(out, j.dump(2) + "\n");
  }
  return kExitOk;
}

}  // namespace rlae::cli
