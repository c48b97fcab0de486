// The evaluation harness behind `rlae eval`: any answer source (one member, an
// ensemble under a weight policy, a trained RLAE policy) over a dataset, scored
// per task family with the answer check, with speed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/answer.h"
#include "common/dataset.h"

namespace rlae {

// Answers a batch of formatted prompts (tasks given for policies that use them).
class AnswerSource {
 public:
  virtual ~AnswerSource() = default;
  virtual std::string name() const = 0;
  // Returns one output per prompt; adds the tokens it generated to *tokens.
  virtual std::vector<std::string> answer(const std::vector<std::string>& prompts,
                                          const std::vector<std::string>& tasks, int64_t* tokens) = 0;
  // For ensembles: the weights decided for each prompt of the last answer() call,
  // one [K] vector per decision (empty for a single member).
  virtual std::vector<std::vector<std::vector<float>>> last_weights() const { return {}; }
};

struct FamilyScore {
  int64_t problems = 0, correct = 0;
  double accuracy() const { return problems ? static_cast<double>(correct) / problems : 0.0; }
};

struct EvalRecord {
  std::string id, task, output, gold;
  bool correct = false;
  std::vector<std::vector<float>> weights;  // per decision, for ensembles
};

struct EvalReport {
  std::string source;
  std::map<std::string, FamilyScore> families;
  FamilyScore overall;
  int64_t tokens = 0;
  double seconds = 0;
  std::vector<EvalRecord> records;
  double tokens_per_s() const { return seconds > 0 ? tokens / seconds : 0.0; }
  double ms_per_token() const { return tokens > 0 ? 1e3 * seconds / tokens : 0.0; }
  std::string to_json(bool with_records) const;
};

struct EvalOptions {
  AnswerMode mode = AnswerMode::numeric;
  int64_t chunk = 64;  // prompts per call to the source (progress granularity)
  std::function<void(int64_t done, int64_t total, const FamilyScore& so_far, double tokens_per_s)> progress;
};

EvalReport evaluate(const std::vector<Problem>& problems, AnswerSource& source, const EvalOptions& options);

// Keeps the first `per_family` problems of each family (0: all) and only the
// families listed (empty: all).
std::vector<Problem> select_problems(const std::vector<Problem>& all, const std::vector<std::string>& families,
                                     int64_t per_family);

}  // namespace rlae
