// How a problem is shown to a member model, in one place: pretraining builds
// its examples with it and every evaluation prompts with it.
//
//   prompt:  "Question: <question>\nAnswer:"
//   target:  " <worked solution> #### <answer>" followed by the model's EOS
#pragma once

#include <string>

namespace rlae {

inline std::string format_prompt(const std::string& question) {
  return "Question: " + question + "\nAnswer:";
}

inline std::string format_target(const std::string& answer) { return " " + answer; }

}  // namespace rlae
