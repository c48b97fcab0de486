// The options every command that loads member models shares: compute dtype,
// device, threads.
#pragma once

#include "actors/model.h"
#include "common/options.h"

namespace rlae::cli {

void add_model_options(po::options_description& desc);
// Also applies --threads to LibTorch.
ModelOptions model_options_from(const po::variables_map& vm, int64_t num_slots);

}  // namespace rlae::cli
