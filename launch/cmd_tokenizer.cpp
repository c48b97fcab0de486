// rlae tokenizer: learn a BPE tokenizer from a corpus.
#include "launch/commands.h"
#include "launch/not_built.h"

namespace rlae::cli {

int cmd_tokenizer(int argc, const char* const* argv) {
  po::options_description desc("tokenizer train");
  desc.add_options()("out", opt<std::string>("FILE"), "tokenizer.json to write");
  return not_built({"tokenizer", "learn a BPE tokenizer", "rlae tokenizer train --corpus FILE --out FILE"},
                   desc, argc, argv, "tokenizer training is issue 4");
}

}  // namespace rlae::cli
