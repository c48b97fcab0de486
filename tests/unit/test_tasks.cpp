// Answer checking, dataset reading and the generated task suite.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <map>
#include <set>

#include "common/answer.h"
#include "common/check.h"
#include "common/dataset.h"
#include "common/fs.h"
#include "common/task_suite.h"

namespace rlae {
namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "rlae_tasks_" + std::to_string(::getpid()) + "_" + name;
}

TEST(Answer, LastNumber) {
  EXPECT_EQ(last_number("he has 12 apples and 7 pears"), 7);
  EXPECT_EQ(last_number("total: 1,234.5 dollars."), 1234.5);
  EXPECT_EQ(last_number("it costs $-3"), -3);
  EXPECT_EQ(last_number("x-3"), 3);  // a hyphen after a letter is not a sign
  EXPECT_EQ(last_number("The answer is 42."), 42);
  EXPECT_FALSE(last_number("no digits here").has_value());
}

TEST(Answer, ExtractPrefersTheMarker) {
  EXPECT_EQ(extract_answer("5 + 3 = 8. 8 * 4 = 32. #### 32"), 32);
  EXPECT_EQ(extract_answer("#### 32. Then 5 more"), 32);
  EXPECT_EQ(extract_answer("12 * 3 = 36 #### -1,000"), -1000);
  EXPECT_EQ(extract_answer("5 + 3 = 8. 8 * 4 = 33"), 33);  // no marker: last number
  EXPECT_FALSE(extract_answer("#### none").has_value());
}

TEST(Answer, Correctness) {
  const std::string gold = "5 + 3 = 8. 8 * 4 = 32. #### 32";
  EXPECT_TRUE(answer_correct("5 + 3 = 8. 8 * 4 = 32. #### 32", gold, AnswerMode::numeric));
  EXPECT_TRUE(answer_correct("so 32.0000000001", gold, AnswerMode::numeric));
  EXPECT_FALSE(answer_correct("5 + 3 = 8. 8 * 4 = 31. #### 31", gold, AnswerMode::numeric));
  EXPECT_FALSE(answer_correct("32 is the answer #### 31", gold, AnswerMode::numeric));
  EXPECT_FALSE(answer_correct("", gold, AnswerMode::numeric));
  EXPECT_TRUE(answer_correct("blah #### Paris ", "#### Paris", AnswerMode::exact));
  EXPECT_FALSE(answer_correct("blah #### paris", "#### Paris", AnswerMode::exact));
  EXPECT_THROW(answer_correct("3", "#### Paris", AnswerMode::numeric), Error);
}

TEST(Dataset, ReadsRlaeAndGsm8kLines) {
  const std::string path = temp_path("mixed.jsonl");
  write_file_atomic(path,
                    "{\"id\": \"a1\", \"task\": \"add\", \"question\": \"1+2?\", \"answer\": \"1 + 2 = 3. #### 3\"}\n"
                    "\n"
                    "{\"question\": \"Janet has...\", \"answer\": \"She sells 16 - 3 - 4 = 9 eggs.\\n#### 1,018\"}\n");
  const auto ds = load_dataset(path);
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds[0].id, "a1");
  EXPECT_EQ(ds[0].gold, 3);
  EXPECT_EQ(ds[1].task, "gsm8k");
  EXPECT_EQ(ds[1].gold, 1018);
  EXPECT_NE(ds[1].id.find("-3"), std::string::npos) << ds[1].id;  // line number
  std::remove(path.c_str());
}

void expect_error_at(const std::string& content, const std::string& needle) {
  const std::string path = temp_path("bad.jsonl");
  write_file_atomic(path, content);
  try {
    load_dataset(path);
    ADD_FAILURE() << "no error for: " << content;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
  std::remove(path.c_str());
}

TEST(Dataset, BadLinesNameFileAndLine) {
  const std::string ok = "{\"question\": \"q\", \"answer\": \"#### 1\"}\n";
  expect_error_at(ok + "{\"question\": \"q\", \"answer\": \"#### 1\"\n", ":2: malformed JSON");
  expect_error_at(ok + ok + "{\"answer\": \"#### 1\"}\n", ":3: missing field 'question'");
  expect_error_at("{\"question\": 5, \"answer\": \"#### 1\"}\n", ":1: field 'question' must be a string");
  expect_error_at(ok + "{\"question\": \"q\", \"answer\": \"#### many\"}\n", ":2: gold answer 'many' is not a number");
  expect_error_at("[1, 2]\n", ":1: expected a JSON object");
  expect_error_at("\n\n", "no problems");
}

TEST(TaskSuite, DisjointSeededAndCorrect) {
  SuiteOptions o;
  o.seed = 5;
  o.train_per_family = 300;
  o.dev_per_family = 100;
  o.test_per_family = 100;
  const Suite a = make_task_suite(o);
  const Suite b = make_task_suite(o);
  const size_t F = task_families().size();
  ASSERT_GE(F, 6u);
  ASSERT_EQ(a.test.size(), 100 * F);
  ASSERT_EQ(a.train.size(), 300 * F);
  std::set<std::string> test_q, ids;
  std::map<std::string, int> per_family;
  for (size_t i = 0; i < a.test.size(); ++i) {
    EXPECT_EQ(a.test[i].question, b.test[i].question);  // seeded
    test_q.insert(a.test[i].question);
    ++per_family[a.test[i].task];
  }
  EXPECT_EQ(per_family.size(), F);
  for (const auto* split : {&a.train, &a.dev, &a.test}) {
    for (const Problem& p : *split) {
      EXPECT_TRUE(ids.insert(p.id).second) << "duplicate id " << p.id;
      // The worked solution is arithmetically right and ends in the gold answer.
      EXPECT_TRUE(answer_correct(p.answer, p.answer, AnswerMode::numeric));
      EXPECT_EQ(extract_answer(p.answer), p.gold) << p.answer;
      size_t pos = 0;
      int steps = 0;
      while ((pos = p.answer.find(" = ", pos)) != std::string::npos) {
        const size_t start = p.answer.rfind(". ", pos) == std::string::npos ? 0 : p.answer.rfind(". ", pos) + 2;
        long long x = 0, y = 0, r = 0;
        char op = 0;
        ASSERT_EQ(std::sscanf(p.answer.c_str() + start, "%lld %c %lld = %lld", &x, &op, &y, &r), 4) << p.answer;
        const long long want = op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : (y ? x / y : -1);
        EXPECT_EQ(r, want) << p.answer;
        if (op == '/') {
          EXPECT_EQ(x % y, 0) << p.answer;
        }
        ++steps;
        pos += 3;
      }
      EXPECT_EQ(steps, p.task.find('_') == std::string::npos ? 1 : 2) << p.task << ": " << p.answer;
    }
  }
  for (const Problem& p : a.train) EXPECT_EQ(test_q.count(p.question), 0u) << "train/test overlap";
  for (const Problem& p : a.dev) EXPECT_EQ(test_q.count(p.question), 0u) << "dev/test overlap";
  o.seed = 6;
  EXPECT_NE(make_task_suite(o).test[0].question, a.test[0].question);
}

TEST(TaskSuite, UnknownFamilyIsAnError) {
  SuiteOptions o;
  o.families = {"add", "calculus"};
  EXPECT_THROW(make_task_suite(o), Error);
}

}  // namespace
}  // namespace rlae
