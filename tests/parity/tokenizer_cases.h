// The comparison of rlae::Tokenizer with a cases.jsonl written by the fixture scripts
// (make_tokenizer_fixtures.py, make_real_tokenizers.py): ids with and without
// special tokens, pre-tokenizer pieces where recorded, decoded text with and without
// skipping special tokens, also of random id sequences. Used by the parity tests.
#pragma once

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/tokenizer.h"

namespace rlae::parity {

inline std::string show(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline std::string show(const std::vector<int32_t>& ids) {
  std::ostringstream os;
  os << "[";
  for (std::size_t i = 0; i < ids.size(); ++i) os << (i ? ", " : "") << ids[i];
  os << "]";
  return os.str();
}

struct CaseCounts {
  int strings = 0, decodes = 0, failures = 0;
};

// Compares every case of `cases_path`; the first `max_reported` mismatches become
// test failures with both sides shown.
inline CaseCounts compare_cases(const Tokenizer& tok, const std::string& cases_path,
                                const std::string& name, int max_reported = 12) {
  using json = nlohmann::json;
  CaseCounts n;
  std::ifstream in(cases_path);
  if (!in.good()) {
    ADD_FAILURE() << "missing fixture " << cases_path << " (did the fixture script run?)";
    n.failures = 1;
    return n;
  }
  auto report = [&](const std::string& what) {
    if (++n.failures <= max_reported) ADD_FAILURE() << name << ": " << what;
  };
  std::string line;
  while (std::getline(in, line)) {
    const json c = json::parse(line);
    if (c.contains("text")) {
      ++n.strings;
      const std::string text = c["text"];
      const auto want = c["ids"].get<std::vector<int32_t>>();
      const auto want_special = c["ids_special"].get<std::vector<int32_t>>();
      const auto got = tok.encode(text, false);
      const auto got_special = tok.encode(text, true);
      if (got != want)
        report("encode " + show(text) + "\n  hf:   " + show(want) + "\n  rlae: " + show(got));
      if (got_special != want_special)
        report("encode(add_special_tokens) " + show(text) + "\n  hf:   " + show(want_special) +
               "\n  rlae: " + show(got_special));
      if (c.contains("pieces")) {
        const auto want_pieces = c["pieces"].get<std::vector<std::string>>();
        const auto got_pieces = tok.pre_tokenize(text);
        if (got_pieces != want_pieces)
          report("pre_tokenize " + show(text) + "\n  hf:   " + show(json(want_pieces).dump()) +
                 "\n  rlae: " + show(json(got_pieces).dump()));
      }
      const std::string dec = tok.decode(want, false);
      if (dec != c["decoded"].get<std::string>())
        report("decode " + show(want) + " of " + show(text) + "\n  hf:   " +
               show(c["decoded"].get<std::string>()) + "\n  rlae: " + show(dec));
      const std::string dec_skip = tok.decode(want_special, true);
      if (dec_skip != c["decoded_skip"].get<std::string>())
        report("decode(skip_special_tokens) " + show(want_special) + "\n  hf:   " +
               show(c["decoded_skip"].get<std::string>()) + "\n  rlae: " + show(dec_skip));
    } else {
      ++n.decodes;
      const auto ids = c["decode_ids"].get<std::vector<int32_t>>();
      const std::string dec = tok.decode(ids, false);
      if (dec != c["decoded"].get<std::string>())
        report("decode " + show(ids) + "\n  hf:   " + show(c["decoded"].get<std::string>()) +
               "\n  rlae: " + show(dec));
      const std::string dec_skip = tok.decode(ids, true);
      if (dec_skip != c["decoded_skip"].get<std::string>())
        report("decode(skip_special_tokens) " + show(ids) + "\n  hf:   " +
               show(c["decoded_skip"].get<std::string>()) + "\n  rlae: " + show(dec_skip));
    }
  }
  std::printf("[ parity   ] %s: %d strings, %d id sequences, %d mismatches\n", name.c_str(),
              n.strings, n.decodes, n.failures);
  return n;
}

}  // namespace rlae::parity
