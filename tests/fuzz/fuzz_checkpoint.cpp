// libFuzzer target for the checkpoint loader's reading of a checkpoint file
// (rlae train --resume, rlae eval --policy rlae:FILE): the safetensors header
// (common/safetensors_format.cpp) and the metadata numbers it takes from it
// (checkpoint_meta_int, common/checkpoint_meta.cpp: iteration, policy_version,
// num_members, obs_width).
//
//   tests/fuzz/run.sh checkpoint [SECONDS]
//
// An input is a checkpoint file's bytes. The header must parse or throw
// rlae::Error; each metadata number must be read or refused with rlae::Error,
// and a number read is the decimal text stored (to_string gives it back). The
// tensors themselves are loaded by LibTorch code the safetensors target and
// the unit tests cover. A crash, a sanitizer report or another exception
// (std::stoll's std::invalid_argument, as before) is a finding.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/check.h"
#include "common/checkpoint_meta.h"
#include "common/safetensors_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rlae::StHeader h;
  try {
    h = rlae::parse_safetensors_header(data, size, "fuzz/ckpt-00000010.safetensors");
  } catch (const rlae::Error&) {
    return 0;
  }
  for (const char* key : {"iteration", "policy_version", "num_members", "obs_width"}) {
    try {
      const int64_t v = rlae::checkpoint_meta_int(h.metadata, key, "fuzz/ckpt-00000010.safetensors");
      const std::string& text = h.metadata.at(key);
      if (v < 0) std::abort();
      const std::string back = std::to_string(v);
      // The same number: equal once leading zeros are dropped.
      const size_t nz = text.find_first_not_of('0');
      if (back != (nz == std::string::npos ? "0" : text.substr(nz))) std::abort();
    } catch (const rlae::Error&) {
    }
  }
  return 0;
}
