// The verifiable maths word-problem suite (`rlae data make`).
//
// Families: single operations (add, sub, mul, div) and two-step problems that
// chain different operations (add_mul, mul_sub, sub_div, div_add). Every problem
// has natural-language wording drawn from several templates with varied names,
// objects and units, a worked solution GSM8K style ("7 + 5 = 12. 12 * 3 = 36.
// #### 36") and a numeric gold answer. Seeded: the same options give the same
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
};

struct Suite {
  std::vector<Problem> train, dev, test;
};

// Splits are disjoint: no question text appears in two splits.
Suite make_task_suite(const SuiteOptions& options);

}  // namespace rlae
