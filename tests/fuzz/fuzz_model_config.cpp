// libFuzzer target for a member directory's JSON files (actors/model_config.cpp):
// config.json, generation_config.json, tokenizer_config.json (and the ids it
// looks up in tokenizer.json).
//
//   tests/fuzz/run.sh model_config [SECONDS]
//
// An input is up to four texts separated by NUL bytes: config.json,
// generation_config.json, tokenizer_config.json, tokenizer.json; an empty text
// after the first leaves that file out. They are written into a scratch
// directory read by ModelConfig::from_dir, which must succeed or throw
// rlae::Error. A config that loads is written back with to_json() and must
// read back (from_json) to the same text, and validate() must accept it. A
// crash, a sanitizer report or another exception (nlohmann's own escaping) is
// a finding.
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "actors/model_config.h"
#include "common/check.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    const std::string d = fuzz::scratch_path("model_config", "");
    ::mkdir(d.c_str(), 0755);
    return d;
  }();
  static const char* const kNames[] = {"config.json", "generation_config.json", "tokenizer_config.json",
                                       "tokenizer.json"};
  const auto parts = fuzz::split_nul(data, size, 4);
  for (size_t i = 0; i < 4; ++i) {
    const std::string path = dir + "/" + kNames[i];
    if (i < parts.size() && (i == 0 || !parts[i].empty())) {
      fuzz::write_bytes(path, parts[i]);
    } else {
      std::remove(path.c_str());
    }
  }
  rlae::ModelConfig c;
  try {
    c = rlae::ModelConfig::from_dir(dir);
  } catch (const rlae::Error&) {
    return 0;
  }
  c.validate();  // from_dir validated it: must not throw now
  const std::string text = c.to_json();
  const rlae::ModelConfig back = rlae::ModelConfig::from_json(text, "round trip");
  if (back.to_json() != text) std::abort();
  (void)c.generation_config_json();
  return 0;
}
