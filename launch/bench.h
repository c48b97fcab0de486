// Benchmarks behind `rlae bench`.
#pragma once

#include <string>

namespace rlae::cli {

int bench_decode(int argc, const char* const* argv);
int bench_ensemble(int argc, const char* const* argv);
int bench_exchange(int argc, const char* const* argv);
int bench_train(int argc, const char* const* argv);
int bench_tokenizer(int argc, const char* const* argv);

// The Python of the parity/bench virtual environment: --python, $RLAE_PYTHON,
// or <source>/.venv/bin/python (launch/setup-python.sh makes it).
std::string find_bench_python(const std::string& given);

// Runs a shell command and returns its standard output; rlae::Error with the
// command and its exit status when it fails.
std::string run_command(const std::string& command);

}  // namespace rlae::cli
