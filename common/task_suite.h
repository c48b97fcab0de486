// The verifiable maths word-problem suite (`rlae data make`).
//
// Families: single operations (add, sub, mul, div) and two-step problems that
// chain different operations (add_mul, mul_sub, sub_div, div_add). A problem is
// composed sentence by sentence from pools of interchangeable phrasings (32 ways to
// state a starting amount, 32 gains, 32 losses, 32 groupings, 24 questions per kind,
// ...), with 1,354 first names and their pronouns, 1,320 objects and 96 containers
// (common/task_words.inc, from WordNet and the US Census name lists), 40 places,
// small numbers sometimes written as words, and in three problems of ten a sentence
// that does not matter. Each has a worked solution GSM8K style ("7 + 5 = 12.
// 12 * 3 = 36. #### 36") and a numeric gold answer.
//
// Splits: train, dev and test draw from the training pools; test-wording draws only
// from held-out pools (a quarter of every sentence pool, a fifth of every word
// inventory), so none of its phrasings, names, objects, containers or places occurs
// in training; dev-wording draws other problems from the same held-out pools, for
// choices that must not look at test-wording. Seeded: the same options give the same
// files on every machine (no std:: distributions, whose output varies by library).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/dataset.h"

namespace rlae {

// All family names, in a fixed order.
const std::vector<std::string>& task_families();

struct SuiteOptions {
  uint64_t seed = 1;
  std::vector<std::string> families;  // empty = all
  int train_per_family = 20000;
  int dev_per_family = 1000;
  int test_per_family = 1000;
  int test_wording_per_family = 1000;
  int dev_wording_per_family = 1000;
};

struct Suite {
  std::vector<Problem> train, dev, test, test_wording;
  // Held-out wording for choices (dev-wording), disjoint from test-wording.
  std::vector<Problem> dev_wording;
};

// The names, objects (singular and plural), containers and places of the training
// pools (held_out false) or of the test-wording pool (true).
std::vector<std::string> task_words(bool held_out);

// Splits are disjoint: no question text appears in two splits; test-wording shares no
// phrasing or word of the inventories with the others.
Suite make_task_suite(const SuiteOptions& options);

}  // namespace rlae
