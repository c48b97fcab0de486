// Word noise for member pretraining (`rlae pretrain --word-noise P`): a regularizer against
// reciting templates. Each time an example is drawn for a training step, every letter word of
// its question (a maximal run of ASCII letters) is replaced, with probability P, by a word drawn
// uniformly from the words of the questions in the run's data mix. Numbers are never touched:
// digits are not letters, and English number words ("four", "twelve", "dozen", ...) are kept,
// so the worked solution still follows from the question. The prompt is then tokenized as
// generate() would tokenize it; the target, the loss and the evaluation are unchanged.
//
// A member trained so cannot rely on any single word of a phrasing (a verb, a name, an
// object) to tell the operation: it has to read the other cues too, which is what a phrasing
// it never saw leaves it with. This is input noise on the conditioning text (word dropout with
// replacement, as in Iyyer et al. 2015 and Bowman et al. 2016), not a change to the data mix.
//
// The draws come from derive_seed(seed, "pretrain.word_noise", {step, row, slot}), so a resumed
// run corrupts exactly what an uninterrupted one would, and a run is the same on any machine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/dataset.h"

namespace rlae::pretraining {

class WordNoise {
 public:
  // The replacement words: every distinct letter word of `questions` that is not a number word,
  // in first-seen order (so the list, and every draw from it, is the same on any machine).
  WordNoise(double p, uint64_t seed, const std::vector<const Problem*>& questions);

  double p() const { return p_; }
  size_t vocabulary() const { return words_.size(); }

  // `question` with its words replaced as described above, drawing from the stream of
  // (step, row, slot). Returns the question unchanged when p is 0.
  std::string apply(const std::string& question, int64_t step, int64_t row, int64_t slot) const;

  // True for the English number words that are kept ("one" ... "twenty", "thirty" ...,
  // "hundred", "dozen", "half", "twice", ...), compared case-insensitively.
  static bool is_number_word(const std::string& word);

 private:
  double p_;
  uint64_t seed_;
  std::vector<std::string> words_;
};

}  // namespace rlae::pretraining
