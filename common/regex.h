// The regexes of Hugging Face pre-tokenizers (Split, ByteLevel) and Replace
// normalizers/decoders: any Oniguruma pattern, matched with the semantics of
// `tokenizers`' SysRegex (the `onig` crate: Oniguruma syntax, UTF-8, no options,
// find_iter's rule for empty matches), and hand-written fast paths for the patterns
// of real tokenizers (GPT-2, Llama 3, Qwen2, \w+|[^\w\s]+) that give the same
// matches, several times faster. tests/unit/test_regex.cpp runs every fast path
// against Oniguruma on one corpus.
//
// Unicode classes follow Unicode 16.0 (common/unicode.h), the version of the
// Oniguruma inside tokenizers 0.23, not the libonig of the system (Debian 12: 6.9.8,
// Unicode 14): \p{...} of the general categories (L, Lu, Ll, Lt, Lm, Lo, M, Mn, Mc,
// Me, N, Nd, Nl, No, P, S, with their long names), \w, \W, \d and \D are rewritten to
// Oniguruma user properties built from our tables. Other properties (scripts, POSIX
// brackets, \b) use libonig's own tables.
//
// A Regex is cheap to copy (shared, immutable) and safe to use from several threads
// at once; compile it once (at tokenizer load), never per call.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rlae {

struct RegexMatch {
  std::size_t begin, end;  // byte offsets, begin <= end
};

class Regex {
 public:
  enum class Engine {
    Auto,       // a hand-written matcher when the pattern has one, else Oniguruma
    Oniguruma,  // always Oniguruma (tests compare the two)
  };
  // Throws rlae::Error with Oniguruma's message naming the piece it refuses,
  // followed by the whole pattern.
  static Regex compile(std::string_view pattern, Engine engine = Engine::Auto);

  // Appends the non-overlapping matches in `text`, left to right, exactly as the
  // onig crate's find_iter yields them (empty matches included, but never one that
  // ends where the previous match ended). Invalid UTF-8 bytes count as characters
  // of their own that are no letter, number or space (each is matched as U+001A).
  void find_all(std::string_view text, std::vector<RegexMatch>& out) const;

  const std::string& pattern() const;
  // "gpt2", "llama3", "qwen2" or "words" for a fast path, "oniguruma" otherwise.
  const char* engine_name() const;

  struct Impl;

 private:
  explicit Regex(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// \w+|[^\w\s]+ with the Rust `regex` crate's \w (Join_Control included): the
// Whitespace pre-tokenizer, which does not go through Oniguruma.
void find_whitespace_words(std::string_view text, std::vector<RegexMatch>& out);

}  // namespace rlae
