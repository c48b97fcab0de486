// Answer checking, dataset reading and the generated task suite.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>
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
  o.test_wording_per_family = 100;
  o.dev_wording_per_family = 60;
  const Suite a = make_task_suite(o);
  const Suite b = make_task_suite(o);
  const size_t F = task_families().size();
  ASSERT_GE(F, 6u);
  ASSERT_EQ(a.test.size(), 100 * F);
  ASSERT_EQ(a.train.size(), 300 * F);
  ASSERT_EQ(a.test_wording.size(), 100 * F);
  ASSERT_EQ(a.dev_wording.size(), 60 * F);
  std::set<std::string> test_q, ids;
  std::map<std::string, int> per_family;
  for (size_t i = 0; i < a.test.size(); ++i) {
    EXPECT_EQ(a.test[i].question, b.test[i].question);  // seeded
    test_q.insert(a.test[i].question);
    ++per_family[a.test[i].task];
  }
  EXPECT_EQ(per_family.size(), F);
  for (const auto* split : {&a.train, &a.dev, &a.test, &a.test_wording, &a.dev_wording}) {
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
  std::set<std::string> test_wording_q;
  for (const Problem& p : a.test_wording) test_wording_q.insert(p.question);
  for (const Problem& p : a.dev_wording)
    EXPECT_EQ(test_wording_q.count(p.question), 0u) << "dev-wording/test-wording overlap: " << p.question;
  o.seed = 6;
  EXPECT_NE(make_task_suite(o).test[0].question, a.test[0].question);
}

// The words of a text, split at anything that is not a letter.
std::set<std::string> words_of(const std::string& text) {
  std::set<std::string> out;
  std::string w;
  for (char c : text + " ") {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      w.push_back(c);
    } else if (!w.empty()) {
      out.insert(w);
      w.clear();
    }
  }
  return out;
}

TEST(TaskSuite, TestWordingIsHeldOutByConstruction) {
  SuiteOptions o;
  o.seed = 3;
  o.train_per_family = 400;
  o.dev_per_family = 50;
  o.test_per_family = 50;
  o.test_wording_per_family = 150;
  o.dev_wording_per_family = 80;
  const Suite a = make_task_suite(o);
  // The two pools share no word, and the sizes are the documented ones.
  const auto train_words = task_words(false), held_words = task_words(true);
  const std::set<std::string> held(held_words.begin(), held_words.end());
  for (const std::string& w : train_words) EXPECT_EQ(held.count(w), 0u) << w << " is in both pools";
  EXPECT_GT(held.size(), 500u);
  EXPECT_GT(train_words.size(), 4 * held.size() - held.size());
  // No held-out word occurs anywhere in train, dev or test (not even in the sentence
  // templates' own text), and every test-wording problem holds some held-out word.
  std::set<std::string> seen_in_training;
  for (const auto* split : {&a.train, &a.dev, &a.test})
    for (const Problem& p : *split)
      for (const std::string& w : words_of(p.question)) seen_in_training.insert(w);
  for (const std::string& w : held_words)
    if (w.find(' ') == std::string::npos) {
      EXPECT_EQ(seen_in_training.count(w), 0u) << "held-out word '" << w << "' in training";
    }
  // Every sentence of a test-wording problem, with names, objects, containers, places and
  // numbers masked, is a phrasing that no training problem used.
  std::set<std::string> all_words(train_words.begin(), train_words.end());
  all_words.insert(held.begin(), held.end());
  const std::set<std::string> number_words = {"two", "three", "four", "five", "six", "seven",
                                              "eight", "nine", "ten", "eleven", "twelve"};
  auto skeletons = [&](const std::string& question) {
    std::vector<std::string> out(1);
    std::string w;
    auto flush = [&] {
      if (w.empty()) return;
      if (w.size() > 2 && w.compare(w.size() - 2, 2, "'s") == 0) w.resize(w.size() - 2);
      std::string lower = w;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (all_words.count(w) || all_words.count(lower)) out.back() += "W";
      else if (std::isdigit(static_cast<unsigned char>(w[0])) || number_words.count(lower)) out.back() += "#";
      else out.back() += lower;
      w.clear();
    };
    for (char c : question) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '\'') {
        w.push_back(c);
        continue;
      }
      flush();
      if (c == '.' || c == '?') out.emplace_back();
      else out.back() += c;
    }
    flush();
    for (std::string& sk : out) sk.erase(0, sk.find_first_not_of(' '));
    out.erase(std::remove(out.begin(), out.end(), std::string()), out.end());
    return out;
  };
  std::set<std::string> training_skeletons;
  for (const auto* split : {&a.train, &a.dev, &a.test})
    for (const Problem& p : *split)
      for (const std::string& sk : skeletons(p.question)) training_skeletons.insert(sk);
  EXPECT_GT(training_skeletons.size(), 60u);  // many phrasings
  std::set<std::string> wording_skeletons;
  std::vector<Problem> held_out_problems = a.test_wording;
  held_out_problems.insert(held_out_problems.end(), a.dev_wording.begin(), a.dev_wording.end());
  for (const Problem& p : held_out_problems) {
    bool has_held = false;
    for (const std::string& w : words_of(p.question)) has_held |= held.count(w) > 0;
    EXPECT_TRUE(has_held) << p.question;
    for (const std::string& sk : skeletons(p.question)) {
      EXPECT_EQ(training_skeletons.count(sk), 0u) << "'" << sk << "' of \"" << p.question << "\" occurs in training";
      wording_skeletons.insert(sk);
    }
  }
  EXPECT_GT(wording_skeletons.size(), 20u);
  // Seeded, and independent of the other splits' sizes (dev-wording's included).
  o.train_per_family = 10;
  o.dev_wording_per_family = 0;
  const Suite b = make_task_suite(o);
  ASSERT_EQ(b.test_wording.size(), a.test_wording.size());
  for (size_t i = 0; i < a.test_wording.size(); ++i) EXPECT_EQ(a.test_wording[i].question, b.test_wording[i].question);
}

TEST(TaskSuite, UnknownFamilyIsAnError) {
  SuiteOptions o;
  o.families = {"add", "calculus"};
  EXPECT_THROW(make_task_suite(o), Error);
}

}  // namespace
}  // namespace rlae
