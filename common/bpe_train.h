// Learning a BPE tokenizer from text, written as a Hugging Face tokenizer.json that
// the `tokenizers` library loads and encodes exactly as rlae::Tokenizer does.
//
// Two styles, as the two families of real checkpoints use them:
//   ByteLevel  GPT-2 / Qwen style: the GPT-2 split regex, a 256-character byte
//              alphabet (every input is encodable), ByteLevel decoder, no BOS.
//              Special tokens default to <|endoftext|>.
//   Metaspace  Llama / SentencePiece style: spaces become "▁", prepended to the
//              first word; unseen characters fall back to <0x00>..<0xFF> byte
//              tokens; <unk>, <s> and </s>; <s> prepended by the post-processor.
// With split_digits, a Digits(individual_digits) pre-tokenizer runs first so that
// every digit is a token of its own (as in Llama and Qwen), which keeps arithmetic
// learnable for tiny models.
//
// Training is the classic algorithm: the pre-tokenized words of the corpus are
// counted, then the most frequent adjacent pair is merged until the vocabulary
// has vocab_size entries or no pair occurs min_frequency times. Pair counts are
// updated incrementally (only words that hold the merged pair are revisited).
// Ties are broken by the pair's strings, so a given corpus always yields the same
// tokenizer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rlae {

enum class BpeStyle { ByteLevel, Metaspace };

struct BpeTrainOptions {
  BpeStyle style = BpeStyle::ByteLevel;
  int vocab_size = 1000;       // total: special tokens, alphabet, byte tokens and merges
  int64_t min_frequency = 2;   // a pair must occur this often to be merged
  // Special tokens, placed first in the vocabulary (ids 0, 1, ...). Empty: the
  // style's defaults (see above).
  std::vector<std::string> special_tokens;
  bool split_digits = true;
};

struct BpeTrainStats {
  int64_t texts = 0;
  int64_t words = 0;           // pre-tokenized pieces, with repetition
  int64_t distinct_words = 0;
  int alphabet = 0;            // single-character tokens learned from the corpus
  int merges = 0;
  int vocab_size = 0;          // final size, specials included
};

class BpeTrainer {
 public:
  explicit BpeTrainer(BpeTrainOptions options);
  ~BpeTrainer();
  BpeTrainer(const BpeTrainer&) = delete;
  BpeTrainer& operator=(const BpeTrainer&) = delete;

  // Adds one text of the corpus (pre-tokenized and counted at once).
  void add_text(std::string_view text);

  // Learns the merges. Returns the tokenizer.json contents. Callable once.
  std::string train();

  // tokenizer_config.json for transformers (PreTrainedTokenizerFast, special tokens).
  std::string tokenizer_config_json() const;

  const BpeTrainStats& stats() const;
  const BpeTrainOptions& options() const;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace rlae
