// Hugging Face `tokenizer.json` tokenizers (BPE models), bit-compatible with the
// `tokenizers` library (0.23) on ids and decoded text.
//
// Supported components (anything else is a clear rlae::Error at load time):
//   model:          BPE (vocab, merges as "a b" strings or ["a", "b"] pairs, unk_token,
//                   fuse_unk, byte_fallback, ignore_merges, continuing_subword_prefix,
//                   end_of_word_suffix). A vocabulary without merges is a character-level
//                   tokenizer.
//   normalizer:     Sequence, Prepend, Replace (string or regex pattern), Strip, NFC.
//   pre_tokenizer:  Sequence, ByteLevel, Split (any Oniguruma regex, or a literal
//                   string), Metaspace, Digits, Whitespace, WhitespaceSplit.
//   decoder:        ByteLevel, Metaspace, Sequence, Replace (string or regex), ByteFallback,
//                   Fuse, Strip, BPEDecoder.
//   post_processor: TemplateProcessing (single), ByteLevel, Sequence, BertProcessing,
//                   RobertaProcessing (the ids of the single-sequence template).
//   added_tokens:   special, single_word, lstrip, rstrip, normalized.
//
// Regexes run on Oniguruma as in `tokenizers` (common/regex.h), with hand-written fast
// paths for the GPT-2, Llama 3 and Qwen2 patterns; Unicode classes are Unicode 16.0,
// as in the Oniguruma that tokenizers 0.23 bundles.
//
// Text is a UTF-8 byte string. Invalid UTF-8 is accepted: each invalid byte is a
// character of its own that is no letter, digit or space (ByteLevel and byte
// fallback then encode it losslessly), so encoding never fails.
//
// A Tokenizer is cheap to copy (shared immutable state) and safe to use from
// several threads at once.
//
// Known gaps: other models (Unigram, WordPiece, WordLevel), other normalizers
// (Lowercase, NFD, NFKC, Precompiled, ...), pair templates, truncation and padding.
// HF's NFC uses Unicode 9.0 tables (unicode-normalization-alignments 0.1.12), ours
// 16.0: characters assigned after 9.0 that compose may differ. With prepend_scheme
// "first", a piece counts as first when it starts the text after normalization; a
// Prepend normalizer followed by a splitting pre-tokenizer and Metaspace(first) could
// differ from Hugging Face (no known tokenizer does that).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rlae {

// The GPT-2 byte-level spelling of raw bytes: every byte mapped to its printable
// stand-in character (space -> "Ġ", newline -> "Ċ"), as ByteLevel vocabularies hold them.
std::string bytes_to_byte_level(std::string_view bytes);

// The byte-fallback token of a byte: "<0x0A>" (upper-case hex), as in Llama vocabularies.
std::string byte_fallback_token(unsigned char b);

class Tokenizer {
 public:
  // Loads a tokenizer.json. Throws rlae::Error naming the file and the problem.
  static Tokenizer from_file(const std::string& path);
  // Parses tokenizer.json contents; `name` stands for the file in error messages.
  static Tokenizer from_json(std::string_view json, const std::string& name = "<string>");

  // Token ids of `text`; add_special_tokens applies the post-processor template
  // (e.g. BOS), as Hugging Face's encode(text, add_special_tokens=True).
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const;

  // The pieces the pre-tokenizer alone cuts `text` into (no normalizer, no added
  // tokens), as Hugging Face's pre_tokenizer.pre_tokenize_str(text); for tests and
  // debugging.
  std::vector<std::string> pre_tokenize(std::string_view text) const;

  // Text of `ids` through the tokenizer's decoder, as Hugging Face's decode().
  // Ids outside the vocabulary are skipped, as there.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;

  // One past the largest id (model vocabulary and added tokens).
  int32_t vocab_size() const;
  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The token's string as written in tokenizer.json ("Ġthe", "▁the", "<0x0A>");
  // an empty string for an id in a gap of the vocabulary. Throws when out of range.
  const std::string& id_to_token(int32_t id) const;
  // The raw bytes the token stands for: ByteLevel characters mapped back to bytes,
  // the Metaspace replacement ("▁") to a space, "<0xNN>" byte-fallback tokens to the
  // byte, added tokens to their content (each token through the decoder's per-token
  // steps). The token_bytes of an encoding spell the normalized text, except where
  // an unknown token stands in or an lstrip/rstrip added token absorbed spaces.
  // Throws when out of range.
  const std::string& token_bytes(int32_t id) const;
  // True for added tokens marked "special" (skipped by decode(ids, true)).
  bool is_special(int32_t id) const;
  // Ids of all special added tokens, ascending.
  std::vector<int32_t> special_ids() const;
  // The unknown-token id of the model, if it has one.
  std::optional<int32_t> unk_id() const;
  // The file (or name) this tokenizer was loaded from.
  const std::string& source() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace rlae
