// The metadata of an rlae agent checkpoint (the __metadata__ strings of its
// safetensors file, written by learner/trainer.cpp), read back with checks.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace rlae {

// The non-negative decimal integer stored under `key` ("iteration",
// "policy_version", "num_members", "obs_width"): rlae::Error naming `path` and
// the key when it is missing or is not such a number (sign, spaces, other
// characters, more than 18 digits).
int64_t checkpoint_meta_int(const std::map<std::string, std::string>& meta, const std::string& key,
                            const std::string& path);

}  // namespace rlae
