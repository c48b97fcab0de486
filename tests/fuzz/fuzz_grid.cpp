// libFuzzer target for sweep grid files (common/sweep_grid.cpp: rlae sweep
// plan|run|slurm --grid FILE).
//
//   tests/fuzz/run.sh grid [SECONDS]
//
// An input is a grid file's text. It must parse or throw rlae::Error naming the
// file and line; a grid that parses expands to exactly the product of its value
// lists (at most kMaxSweepTrials; expanded and checked up to 4,096 trials), every
// trial holding every fixed and grid key.
// A crash, a sanitizer report, another exception, or an expansion that does not
// fit in memory is a finding. (The base config named by `base =` is not read:
// the fuzzer's grids name files that do not exist.)
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/check.h"
#include "common/sweep_grid.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = fuzz::scratch_path("grid", ".ini");
  fuzz::write_bytes(path, std::string(reinterpret_cast<const char*>(data), size));
  rlae::SweepGrid g;
  try {
    g = rlae::parse_sweep_grid(path);
  } catch (const rlae::Error&) {
    return 0;
  }
  size_t product = 1;
  for (const auto& [key, values] : g.axes) {
    if (values.empty()) std::abort();
    product *= values.size();
  }
  if (product > rlae::kMaxSweepTrials) std::abort();
  // Expanding is the same loop for any product; past 4,096 trials it only costs
  // time (a 100,000-trial grid took ~50 ms, holding the target at ~180 execs/s).
  if (product > 4096) return 0;
  g.base.clear();
  const auto trials = rlae::expand_sweep(g);
  if (trials.size() != product) std::abort();
  for (const auto& t : trials) {
    for (const auto& [k, v] : g.fixed)
      if (!t.count(k)) std::abort();
    for (const auto& [k, values] : g.axes)
      if (!t.count(k)) std::abort();
  }
  (void)rlae::trial_name(trials.size());
  return 0;
}
