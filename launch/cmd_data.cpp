// rlae data make | stats: the maths word-problem suite.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>

#include "common/check.h"
#include "common/dataset.h"
#include "common/fs.h"
#include "common/options.h"
#include "common/task_suite.h"
#include "launch/commands.h"

namespace rlae::cli {
namespace {

int data_make(int argc, const char* const* argv) {
  po::options_description desc("data make");
  desc.add_options()
      ("out", opt<std::string>("DIR", "data/suite"), "output directory (train/dev/test .jsonl)")
      ("seed", opt<long long>("S", 1), "random seed")
      ("families", opt<std::string>("LIST", ""), "comma-separated task families (default: all)")
      ("train", opt<int>("N", 20000), "training problems per family")
      ("dev", opt<int>("N", 1000), "dev problems per family")
      ("test", opt<int>("N", 1000), "test problems per family")
      ("test-wording", opt<int>("N", 1000),
       "test-wording problems per family: phrasings, names, objects, containers and places that never occur in training")
      ("dev-wording", opt<int>("N", 1000),
       "dev-wording problems per family: the held-out pools of test-wording, other problems; for choices "
       "(recipes, step counts) that must not look at test-wording");
  const CommandSpec spec{"data make", "generate the maths word-problem suite with worked solutions",
                         "rlae data make --out DIR [--seed S] [--families add,mul,...] [--test-wording N] [--dev-wording N]"};
  const auto vm = parse_command_options(spec, desc, argc, argv, std::cout);
  if (!vm) return kExitOk;
  SuiteOptions o;
  o.seed = static_cast<uint64_t>((*vm)["seed"].as<long long>());
  const std::string fam = (*vm)["families"].as<std::string>();
  if (!fam.empty()) o.families = split_list(fam, "--families");
  o.train_per_family = (*vm)["train"].as<int>();
  o.dev_per_family = (*vm)["dev"].as<int>();
  o.test_per_family = (*vm)["test"].as<int>();
  o.test_wording_per_family = (*vm)["test-wording"].as<int>();
  o.dev_wording_per_family = (*vm)["dev-wording"].as<int>();
  RLAE_USAGE_CHECK(o.train_per_family >= 0 && o.dev_per_family >= 0 && o.test_per_family >= 0 &&
                       o.test_wording_per_family >= 0 && o.dev_wording_per_family >= 0,
                   "rlae data make: --train, --dev, --test, --test-wording and --dev-wording must be >= 0");
  const std::string out = (*vm)["out"].as<std::string>();
  make_dirs(out);
  const Suite suite = make_task_suite(o);
  write_dataset(out + "/train.jsonl", suite.train);
  write_dataset(out + "/dev.jsonl", suite.dev);
  write_dataset(out + "/test.jsonl", suite.test);
  write_dataset(out + "/test-wording.jsonl", suite.test_wording);
  write_dataset(out + "/dev-wording.jsonl", suite.dev_wording);
  write_resolved_config(out + "/data.ini", desc, *vm);
  std::cout << "wrote " << out << "/{train,dev,test,test-wording,dev-wording}.jsonl: " << suite.train.size() << " / "
            << suite.dev.size() << " / " << suite.test.size() << " / " << suite.test_wording.size() << " / "
            << suite.dev_wording.size()
            << " problems\n";
  return kExitOk;
}

int data_stats(int argc, const char* const* argv) {
  po::options_description desc("data stats");
  desc.add_options()("data", opt<std::string>("FILE"), "dataset (rlae or GSM8K JSONL)");
  const CommandSpec spec{"data stats", "count problems per task family", "rlae data stats FILE"};
  const auto vm = parse_command_options(spec, desc, argc, argv, std::cout, "data");
  if (!vm) return kExitOk;
  RLAE_USAGE_CHECK(vm->count("data"), "rlae data stats: missing dataset FILE");
  const auto problems = load_dataset((*vm)["data"].as<std::string>());
  std::map<std::string, size_t> counts;
  for (const auto& p : problems) ++counts[p.task];
  for (const auto& [task, n] : counts) std::cout << task << "\t" << n << "\n";
  std::cout << "total\t" << problems.size() << "\n";
  return kExitOk;
}

}  // namespace

int cmd_data(int argc, const char* const* argv) {
  const std::string sub = argc > 1 ? argv[1] : "";
  if (sub == "make") return data_make(argc - 1, argv + 1);
  if (sub == "stats") return data_stats(argc - 1, argv + 1);
  if (sub == "--help" || sub == "-h") {
    std::cout << "usage: rlae data make|stats [options]   (rlae data make --help)\n";
    return kExitOk;
  }
  RLAE_USAGE_CHECK(false, "rlae data: expected 'make' or 'stats', got '", sub, "'");
  return kExitUsage;
}

}  // namespace rlae::cli
