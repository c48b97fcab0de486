// rlae train's option table and its translation into a TrainConfig; rlae replay
// train reads a run's resolved config.ini with the same table.
#pragma once

#include <string>

#include "common/options.h"
#include "learner/trainer.h"

namespace rlae::cli {

// Run, decoding, PPO, distributed and model options; reference defaults from
// ../shared/DESIGN.md (experiments/reference.ini spells them out).
po::options_description train_options();
// The options as a TrainConfig (config_hash left empty); UsageError for a
// missing --members / --train-data or out-of-range decoding values.
TrainConfig train_config_from(const po::variables_map& vm);
// FNV-1a of a resolved configuration text without its `resume` line, as 16 hex digits.
std::string config_hash(const std::string& resolved);

}  // namespace rlae::cli
