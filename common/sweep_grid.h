// Hyperparameter sweep grids: an INI file whose top-level `key = value` lines
// set rlae train options for every trial (optionally on top of a `base` config)
// and whose [grid] section lists the values to sweep, comma-separated:
//
//   base = experiments/quickstart.ini     # every trial starts from this config
//   iterations = 200                      # ... with these settings on top
//   [grid]
//   lr = 3e-4, 1e-3                       # the trials: every combination,
//   algo = mappo, ppo                     # the last axis varying fastest
//
// Trials are numbered in that order (trial-000, trial-001, ...). Paths (base,
// members, data) are relative to the directory rlae runs in, as for --config;
// `rlae sweep run` and the Slurm script run every trial from where it was planned.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace rlae {

struct SweepGrid {
  std::string path;
  std::string base;                                  // base config path ("" if none), as written
  std::vector<std::pair<std::string, std::string>> fixed;       // top-level settings, in file order
  std::vector<std::pair<std::string, std::vector<std::string>>> axes;  // [grid], in file order
};

// The most trials one grid may make (the product of its value lists).
constexpr size_t kMaxSweepTrials = 100000;

// Parses a grid file; rlae::Error naming file:line for a malformed line, a key
// given twice, an empty value list, or a [grid] key that is also fixed; and
// for a grid of more than kMaxSweepTrials trials.

SweepGrid parse_sweep_grid(const std::string& path);

// `key = value` lines of an INI config (comments and "# default" tails dropped).
std::vector<std::pair<std::string, std::string>> read_ini_settings(const std::string& path);

// The settings of every trial: base config, then fixed settings, then the
// trial's grid values (later ones override earlier ones), keyed by option name.
std::vector<std::map<std::string, std::string>> expand_sweep(const SweepGrid& grid);
// Only the grid values of every trial (what tells the trials apart).
std::vector<std::vector<std::pair<std::string, std::string>>> sweep_points(const SweepGrid& grid);

// "trial-007"
std::string trial_name(size_t index);

}  // namespace rlae
