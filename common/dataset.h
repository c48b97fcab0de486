// Datasets of question/answer problems, read from JSONL.
//
// Accepted lines (one JSON object each; blank lines are skipped):
//   rlae:  {"id": "...", "task": "add", "question": "...", "answer": "3 + 4 = 7. #### 7"}
//   GSM8K: {"question": "...", "answer": "... #### 72"}   (id = <file stem>-<line>, task = "gsm8k")
// A malformed line, a missing field or (with numeric answers) a gold answer
// without a number is an error naming the file and line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rlae {

struct Problem {
  std::string id;
  std::string task;      // the task family ("add", "mul_sub", "gsm8k", ...)
  std::string question;
  std::string answer;    // worked solution ending in "#### <answer>", or a bare answer
  double gold = 0;       // the numeric final answer (when numeric answers are required)
  int64_t line = 0;      // its line in the file it was read from (1-based; 0: not read from a file)
};

struct DatasetOptions {
  bool require_numeric_gold = true;
};

std::vector<Problem> load_dataset(const std::string& path, const DatasetOptions& options = {});

// Writes problems as rlae JSONL (atomically: temporary file, then rename).
void write_dataset(const std::string& path, const std::vector<Problem>& problems);

}  // namespace rlae
