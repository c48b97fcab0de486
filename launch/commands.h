// The `rlae` subcommands. Each lives in its own launch/cmd_<name>.cpp and
// returns the process exit code: 0 success, 1 runtime error, 2 bad usage.
#pragma once

namespace rlae::cli {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

using CommandFn = int (*)(int argc, const char* const* argv);

struct Command {
  const char* name;
  const char* summary;
  CommandFn run;
};

int cmd_info(int argc, const char* const* argv);
int cmd_train(int argc, const char* const* argv);
int cmd_eval(int argc, const char* const* argv);
int cmd_generate(int argc, const char* const* argv);
int cmd_replay(int argc, const char* const* argv);
int cmd_sweep(int argc, const char* const* argv);
int cmd_pretrain(int argc, const char* const* argv);
int cmd_bench(int argc, const char* const* argv);
int cmd_data(int argc, const char* const* argv);
int cmd_tokenizer(int argc, const char* const* argv);

}  // namespace rlae::cli
