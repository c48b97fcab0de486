#include "learner/pretrain/word_noise.h"

#include <algorithm>
#include <cctype>
#include <unordered_set>

#include "common/check.h"
#include "common/rng.h"

namespace rlae::pretraining {
namespace {

bool is_letter(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Calls f(begin, end) for every maximal run of ASCII letters of s.
template <typename F>
void for_each_word(const std::string& s, F f) {
  for (size_t i = 0; i < s.size();) {
    if (!is_letter(s[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && is_letter(s[j])) ++j;
    f(i, j);
    i = j;
  }
}

}  // namespace

bool WordNoise::is_number_word(const std::string& word) {
  static const std::unordered_set<std::string> kNumbers = {
      "zero",     "one",      "two",       "three",    "four",     "five",    "six",     "seven",
      "eight",    "nine",     "ten",       "eleven",   "twelve",   "thirteen", "fourteen", "fifteen",
      "sixteen",  "seventeen", "eighteen", "nineteen", "twenty",   "thirty",  "forty",   "fifty",
      "sixty",    "seventy",  "eighty",    "ninety",   "hundred",  "thousand", "million", "dozen",
      "dozens",   "half",     "halves",    "twice",    "thrice",   "double",  "triple",  "once",
      "first",    "second",   "third",     "fourth",   "fifth",    "quarter", "quarters", "pair",
      "pairs"};
  return kNumbers.count(lower(word)) > 0;
}

WordNoise::WordNoise(double p, uint64_t seed, const std::vector<const Problem*>& questions)
    : p_(p), seed_(seed) {
  RLAE_USAGE_CHECK(p >= 0 && p < 1, "--word-noise must be in [0, 1), got ", p);
  if (p == 0) return;
  std::unordered_set<std::string> seen;
  for (const Problem* q : questions)
    for_each_word(q->question, [&](size_t i, size_t j) {
      std::string w = q->question.substr(i, j - i);
      if (!is_number_word(w) && seen.insert(w).second) words_.push_back(std::move(w));
    });
  RLAE_CHECK(!words_.empty(), "--word-noise ", p, ": the questions of the data mix have no words to draw from");
}

std::string WordNoise::apply(const std::string& question, int64_t step, int64_t row, int64_t slot) const {
  if (p_ == 0) return question;
  SplitMix64 rng(derive_seed(seed_, "pretrain.word_noise",
                             {static_cast<uint64_t>(step), static_cast<uint64_t>(row), static_cast<uint64_t>(slot)}));
  std::string out;
  out.reserve(question.size() + 16);
  size_t last = 0;
  for_each_word(question, [&](size_t i, size_t j) {
    const std::string w = question.substr(i, j - i);
    out.append(question, last, i - last);
    last = j;
    // One draw per word, kept or not, so that the stream of a word does not depend on the
    // words before it.
    const double u = rng.uniform();
    const uint64_t pick = rng.below(words_.size());
    if (u >= p_ || is_number_word(w)) {
      out += w;
      return;
    }
    std::string r = words_[pick];
    // The replacement starts in the case of the word it replaces ("Tom buys" -> "Crate buys").
    r[0] = std::isupper(static_cast<unsigned char>(w[0]))
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(r[0])))
               : static_cast<char>(std::tolower(static_cast<unsigned char>(r[0])));
    out += r;
  });
  out.append(question, last, std::string::npos);
  return out;
}

}  // namespace rlae::pretraining
