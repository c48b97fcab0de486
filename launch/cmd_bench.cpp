// rlae bench <what>: speed benchmarks that print ratios measured side by side.
#include <iostream>

#include "common/check.h"
#include "launch/bench.h"
#include "launch/commands.h"

namespace rlae::cli {

int cmd_bench(int argc, const char* const* argv) {
  const std::string what = argc > 1 ? argv[1] : "";
  if (what == "decode") return bench_decode(argc - 1, argv + 1);
  if (what == "ensemble") return bench_ensemble(argc - 1, argv + 1);
  if (what == "exchange") return bench_exchange(argc - 1, argv + 1);
  if (what == "train") return bench_train(argc - 1, argv + 1);
  if (what == "tokenizer") return bench_tokenizer(argc - 1, argv + 1);
  if (what == "--help" || what == "-h") {
    std::cout << "usage: rlae bench decode|ensemble|exchange|train|tokenizer [options]   (rlae bench decode --help)\n"
                 "  decode    member decoding tokens/s against Hugging Face transformers on the same model\n"
                 "  ensemble  the ensemble's own overhead against its members' forward time\n"
                 "  exchange  per-step exchange latency between member ranks under mpirun\n"
                 "  train     where a training iteration's wall time goes (shares per layout)\n"
                 "  tokenizer tokenizer.json load time and encode tokens/s against Hugging Face tokenizers\n";
    return kExitOk;
  }
  RLAE_USAGE_CHECK(false, "rlae bench: expected decode, ensemble, exchange, train or tokenizer, got '", what, "'");
  return kExitUsage;
}

}  // namespace rlae::cli
