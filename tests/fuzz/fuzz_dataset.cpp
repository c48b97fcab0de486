// libFuzzer target for dataset JSONL (common/dataset.cpp: --train-data, --data)
// and the answer check (common/answer.cpp: the reward and eval's accuracy).
//
//   tests/fuzz/run.sh dataset [SECONDS]
//
// An input is a JSONL file's text. It is read with numeric gold answers
// required and without; each must load or throw rlae::Error naming the file
// and line. Every problem loaded keeps its line number inside the file; its
// numeric gold agrees with extract_answer; the answer check runs on its
// question and answer in both modes and a gold answer is always correct
// against itself. The raw input also goes through extract_answer and
// final_answer_text. A crash, a sanitizer report or another exception is a
// finding.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/answer.h"
#include "common/check.h"
#include "common/dataset.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = fuzz::scratch_path("dataset", ".jsonl");
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)rlae::extract_answer(text);
  (void)rlae::final_answer_text(text);
  fuzz::write_bytes(path, text);
  int64_t lines = 1;
  for (char c : text) lines += c == '\n';
  for (bool numeric : {true, false}) {
    std::vector<rlae::Problem> problems;
    try {
      problems = rlae::load_dataset(path, rlae::DatasetOptions{numeric});
    } catch (const rlae::Error&) {
      continue;
    }
    int64_t last = 0;
    for (const rlae::Problem& p : problems) {
      if (p.line <= last || p.line > lines) std::abort();  // lines in file order, inside the file
      last = p.line;
      if (numeric) {
        const auto gold = rlae::extract_answer(p.answer);
        if (!gold || !(*gold == p.gold || (std::isnan(*gold) && std::isnan(p.gold)))) std::abort();
        if (!rlae::answer_correct(p.answer, p.answer, rlae::AnswerMode::numeric)) std::abort();
        (void)rlae::answer_correct(p.question, p.answer, rlae::AnswerMode::numeric);
      }
      (void)rlae::answer_correct(p.question, p.answer, rlae::AnswerMode::exact);
      if (!rlae::answer_correct(p.answer, p.answer, rlae::AnswerMode::exact)) std::abort();
    }
  }
  return 0;
}
