// libFuzzer target for a sharded member's model.safetensors.index.json
// (parse_shard_index, common/safetensors_format.cpp; used by
// SafetensorsCheckpoint::open and the member fingerprint).
//
//   tests/fuzz/run.sh shard_index [SECONDS]
//
// An input is the index file's text. It must parse or throw rlae::Error; every
// shard it names is a plain file name inside the member directory (no '/', not
// "." or "..", no NUL), and the list is not empty. A crash, a sanitizer report
// or another exception is a finding.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/check.h"
#include "common/safetensors_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::pair<std::string, std::string>> listed;
  try {
    listed = rlae::parse_shard_index(text, "fuzz/model.safetensors.index.json");
  } catch (const rlae::Error&) {
    return 0;
  }
  if (listed.empty()) std::abort();
  for (const auto& [tensor, shard] : listed) {
    if (shard.empty() || shard == "." || shard == ".." || shard.find('/') != std::string::npos ||
        shard.find('\0') != std::string::npos)
      std::abort();
  }
  return 0;
}
