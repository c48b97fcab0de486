// rlae eval: accuracy and latency on a dataset.
#include "launch/commands.h"
#include "launch/not_built.h"

namespace rlae::cli {

int cmd_eval(int argc, const char* const* argv) {
  po::options_description desc("eval");
  desc.add_options()
      ("model", opt<std::string>("DIR"), "member model directory")
      ("data", opt<std::string>("FILE"), "dataset (JSONL)")
      ("out", opt<std::string>("FILE"), "write results as JSON");
  return not_built({"eval", "accuracy and latency on a dataset", "rlae eval --model DIR --data FILE"},
                   desc, argc, argv, "the evaluation harness is issue 4");
}

}  // namespace rlae::cli
