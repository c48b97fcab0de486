// The evaluation harness with a scripted answer source: exact per-family counts,
// the prompt format the sources see, and the JSON report.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "actors/evaluate.h"
#include "common/check.h"
#include "common/prompt.h"

namespace rlae {
namespace {

// Answers correctly exactly the problems whose question contains "easy".
class Scripted final : public AnswerSource {
 public:
  std::string name() const override { return "scripted"; }
  std::vector<std::string> answer(const std::vector<std::string>& prompts, const std::vector<std::string>& tasks,
                                  int64_t* tokens) override {
    std::vector<std::string> out;
    for (size_t i = 0; i < prompts.size(); ++i) {
      EXPECT_EQ(prompts[i].rfind("Question: ", 0), 0u);
      seen_tasks.push_back(tasks[i]);
      out.push_back(prompts[i].find("easy") != std::string::npos ? "2 + 2 = 4. #### 4" : "#### 5");
      *tokens += 10;
    }
    ++calls;
    return out;
  }
  std::vector<std::string> seen_tasks;
  int calls = 0;
};

std::vector<Problem> problems() {
  std::vector<Problem> ps;
  for (int i = 0; i < 10; ++i) {
    const std::string task = i < 6 ? "add" : "mul";
    ps.push_back({"id" + std::to_string(i), task, (i % 3 == 0 ? "easy " : "hard ") + std::to_string(i), "#### 4", 4});
  }
  return ps;
}

TEST(Evaluate, CountsPerFamilyAndOverall) {
  Scripted src;
  EvalOptions opt;
  opt.chunk = 4;
  int64_t last_done = 0;
  opt.progress = [&](int64_t done, int64_t total, const FamilyScore&, double) {
    EXPECT_EQ(total, 10);
    EXPECT_GT(done, last_done);
    last_done = done;
  };
  const EvalReport r = evaluate(problems(), src, opt);
  EXPECT_EQ(src.calls, 3);  // 4 + 4 + 2
  EXPECT_EQ(last_done, 10);
  // easy: i = 0, 3 (add), 6, 9 (mul)
  EXPECT_EQ(r.families.at("add").problems, 6);
  EXPECT_EQ(r.families.at("add").correct, 2);
  EXPECT_EQ(r.families.at("mul").problems, 4);
  EXPECT_EQ(r.families.at("mul").correct, 2);
  EXPECT_EQ(r.overall.correct, 4);
  EXPECT_DOUBLE_EQ(r.overall.accuracy(), 0.4);
  EXPECT_EQ(r.tokens, 100);
  EXPECT_EQ(src.seen_tasks[7], "mul");
  const auto j = nlohmann::json::parse(r.to_json(true));
  EXPECT_EQ(j["families"]["mul"]["correct"], 2);
  EXPECT_EQ(j["records"].size(), 10u);
  EXPECT_EQ(j["records"][3]["correct"], true);
  EXPECT_EQ(j["records"][4]["gold"], "4");
}

// An ensemble-like source: the weights of its last call land in each problem's record.
class Weighted final : public AnswerSource {
 public:
  std::string name() const override { return "weighted"; }
  std::vector<std::string> answer(const std::vector<std::string>& prompts, const std::vector<std::string>&,
                                  int64_t*) override {
    last_.clear();
    for (const auto& p : prompts) {
      const float x = static_cast<float>(p.size() % 7) / 7.0f;
      last_.push_back({{x, 1 - x}, {1 - x, x}});
    }
    return std::vector<std::string>(prompts.size(), "#### 4");
  }
  std::vector<std::vector<std::vector<float>>> last_weights() const override { return last_; }

 private:
  std::vector<std::vector<std::vector<float>>> last_;
};

TEST(Evaluate, RecordsCarryEachProblemsWeights) {
  Weighted src;
  EvalOptions opt;
  opt.chunk = 3;
  const auto ps = problems();
  const auto j = nlohmann::json::parse(evaluate(ps, src, opt).to_json(true));
  ASSERT_EQ(j["records"].size(), ps.size());
  for (size_t i = 0; i < ps.size(); ++i) {
    const float x = static_cast<float>(format_prompt(ps[i].question).size() % 7) / 7.0f;
    ASSERT_EQ(j["records"][i]["weights"].size(), 2u) << i;
    EXPECT_FLOAT_EQ(j["records"][i]["weights"][0][0].get<float>(), x) << i;
    EXPECT_FLOAT_EQ(j["records"][i]["weights"][1][0].get<float>(), 1 - x) << i;
  }
  Scripted single;  // a single member has no weights
  EXPECT_FALSE(nlohmann::json::parse(evaluate(ps, single, opt).to_json(true))["records"][0].contains("weights"));
}

TEST(Evaluate, SelectsFamiliesAndCaps) {
  const auto sel = select_problems(problems(), {"mul"}, 3);
  ASSERT_EQ(sel.size(), 3u);
  for (const auto& p : sel) EXPECT_EQ(p.task, "mul");
  EXPECT_EQ(select_problems(problems(), {}, 2).size(), 4u);
  Scripted src;
  EXPECT_THROW(evaluate({}, src, {}), Error);
}

}  // namespace
}  // namespace rlae
