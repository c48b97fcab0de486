#include "common/bpe_train.h"

#include <algorithm>
#include <map>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "common/check.h"
#include "common/tokenizer.h"
#include "common/unicode.h"

namespace rlae {
namespace {

using json = nlohmann::ordered_json;

const char* const kMetaspace = "\xE2\x96\x81";  // U+2581 "▁"

json added_token(int id, const std::string& content) {
  return json{{"id", id},          {"content", content}, {"single_word", false},
              {"lstrip", false},   {"rstrip", false},    {"normalized", false},
              {"special", true}};
}

json pre_tokenizer_json(const BpeTrainOptions& o) {
  json main;
  if (o.style == BpeStyle::ByteLevel) {
    main = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
            {"use_regex", true}};
  } else {
    main = {{"type", "Metaspace"}, {"replacement", kMetaspace}, {"prepend_scheme", "first"},
            {"split", true}};
  }
  if (!o.split_digits) return main;
  return {{"type", "Sequence"},
          {"pretokenizers", json::array({{{"type", "Digits"}, {"individual_digits", true}}, main})}};
}

json decoder_json(const BpeTrainOptions& o) {
  if (o.style == BpeStyle::ByteLevel)
    return {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true},
            {"use_regex", true}};
  return {{"type", "Sequence"},
          {"decoders",
           json::array({{{"type", "Replace"}, {"pattern", {{"String", kMetaspace}}}, {"content", " "}},
                        {{"type", "ByteFallback"}},
                        {{"type", "Fuse"}},
                        {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}};
}

json post_processor_json(const BpeTrainOptions& o, const std::string& bos, int bos_id) {
  if (o.style == BpeStyle::ByteLevel)
    return {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false},
            {"use_regex", true}};
  auto special = [&](int type_id) { return json{{"SpecialToken", {{"id", bos}, {"type_id", type_id}}}}; };
  auto seq = [&](const char* id, int type_id) { return json{{"Sequence", {{"id", id}, {"type_id", type_id}}}}; };
  return {{"type", "TemplateProcessing"},
          {"single", json::array({special(0), seq("A", 0)})},
          {"pair", json::array({special(0), seq("A", 0), special(1), seq("B", 1)})},
          {"special_tokens", {{bos, {{"id", bos}, {"ids", json::array({bos_id})}, {"tokens", json::array({bos})}}}}}};
}

// Orders candidate merges: higher count first, then by the pair's strings.
struct HeapEntry {
  int64_t count;
  int32_t left, right;
};

}  // namespace

struct BpeTrainer::Impl {
  BpeTrainOptions options;
  BpeTrainStats stats;
  std::optional<Tokenizer> pre;          // the pre-tokenizer alone, to cut texts into words
  std::unordered_map<std::string, int64_t> word_counts;
  bool trained = false;
  std::string bos, eos, unk;

  // Training state.
  std::vector<std::string> vocab;  // id -> token
  std::unordered_map<std::string, int32_t> ids;
  std::vector<std::vector<int32_t>> words;
  std::vector<int64_t> freq;

  int32_t add_token(const std::string& t) {
    const auto it = ids.find(t);
    if (it != ids.end()) return it->second;
    const auto id = static_cast<int32_t>(vocab.size());
    vocab.push_back(t);
    ids.emplace(t, id);
    return id;
  }
};

BpeTrainer::BpeTrainer(BpeTrainOptions options) : impl_(new Impl) {
  auto& m = *impl_;
  m.options = std::move(options);
  auto& o = m.options;
  if (o.special_tokens.empty()) {
    if (o.style == BpeStyle::ByteLevel) o.special_tokens = {"<|endoftext|>"};
    else o.special_tokens = {"<unk>", "<s>", "</s>"};
  }
  std::set<std::string> seen;
  for (const auto& s : o.special_tokens) {
    RLAE_USAGE_CHECK(!s.empty(), "rlae tokenizer train: an empty special token");
    RLAE_USAGE_CHECK(seen.insert(s).second, "rlae tokenizer train: special token '", s,
                     "' given twice");
  }
  RLAE_USAGE_CHECK(o.min_frequency >= 1, "rlae tokenizer train: --min-frequency must be >= 1");
  const int floor = static_cast<int>(o.special_tokens.size()) + 256;
  RLAE_USAGE_CHECK(o.vocab_size >= floor, "rlae tokenizer train: --vocab-size ", o.vocab_size,
                   " is below the ", floor, " tokens that the specials and the 256 ",
                   o.style == BpeStyle::ByteLevel ? "byte characters" : "byte-fallback tokens",
                   " need");
  if (o.style == BpeStyle::Metaspace) {
    auto has = [&](const char* t) {
      return std::find(o.special_tokens.begin(), o.special_tokens.end(), t) != o.special_tokens.end();
    };
    RLAE_USAGE_CHECK(has("<unk>") && has("<s>") && has("</s>"),
                     "rlae tokenizer train: the metaspace style needs <unk>, <s> and </s> among "
                     "--special-tokens");
    m.unk = "<unk>";
    m.bos = "<s>";
    m.eos = "</s>";
  } else {
    m.eos = o.special_tokens.front();
    m.bos = m.eos;
  }

  // The pre-tokenizer alone, through the same loader that encodes later.
  json vocab = json::object();
  for (std::size_t i = 0; i < o.special_tokens.size(); ++i) vocab[o.special_tokens[i]] = i;
  json skeleton = {{"version", "1.0"},
                   {"normalizer", nullptr},
                   {"pre_tokenizer", pre_tokenizer_json(o)},
                   {"decoder", decoder_json(o)},
                   {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array()}}}};
  m.pre = Tokenizer::from_json(skeleton.dump(), "<bpe trainer pre-tokenizer>");
}

BpeTrainer::~BpeTrainer() { delete impl_; }

void BpeTrainer::add_text(std::string_view text) {
  auto& m = *impl_;
  RLAE_ASSERT(!m.trained, "add_text after train");
  ++m.stats.texts;
  for (auto& w : m.pre->pre_tokenize(text)) {
    if (w.empty()) continue;
    ++m.stats.words;
    ++m.word_counts[std::move(w)];
  }
}

std::string BpeTrainer::train() {
  auto& m = *impl_;
  const auto& o = m.options;
  RLAE_ASSERT(!m.trained, "train called twice");
  m.trained = true;

  for (const auto& s : o.special_tokens) m.add_token(s);
  if (o.style == BpeStyle::ByteLevel) {
    for (int b = 0; b < 256; ++b) m.add_token(bytes_to_byte_level(std::string(1, static_cast<char>(b))));
  } else {
    for (int b = 0; b < 256; ++b) m.add_token(byte_fallback_token(static_cast<unsigned char>(b)));
  }
  const auto base = static_cast<int>(m.vocab.size());

  // Words in a fixed order (sorted), split into characters.
  std::vector<std::pair<std::string, int64_t>> sorted(m.word_counts.begin(), m.word_counts.end());
  std::sort(sorted.begin(), sorted.end());
  m.word_counts.clear();
  m.stats.distinct_words = static_cast<int64_t>(sorted.size());
  std::map<std::string, int64_t> char_counts;
  std::vector<std::vector<std::string>> split(sorted.size());
  for (std::size_t w = 0; w < sorted.size(); ++w) {
    const std::string& word = sorted[w].first;
    for (std::size_t i = 0; i < word.size();) {
      const std::size_t start = i;
      unicode::utf8_next(word, i);
      split[w].push_back(word.substr(start, i - start));
      char_counts[split[w].back()] += sorted[w].second;
    }
  }
  // The alphabet: every character of the corpus, most frequent first (ByteLevel
  // already has all 256). A character of the corpus that is an invalid UTF-8
  // byte stays out; byte fallback encodes it.
  std::vector<std::pair<int64_t, std::string>> alphabet;
  for (const auto& [c, n] : char_counts)
    if (!m.ids.count(c) && unicode::utf8_is_valid(c)) alphabet.emplace_back(-n, c);
  std::sort(alphabet.begin(), alphabet.end());
  for (const auto& [n, c] : alphabet) {
    if (static_cast<int>(m.vocab.size()) >= o.vocab_size) break;
    m.add_token(c);
  }
  m.stats.alphabet = static_cast<int>(m.vocab.size()) - base;

  // Words as token ids; words with a character left out of the alphabet are
  // dropped from training (byte fallback encodes them).
  for (std::size_t w = 0; w < sorted.size(); ++w) {
    std::vector<int32_t> symbols;
    bool ok = true;
    for (const auto& c : split[w]) {
      const auto it = m.ids.find(c);
      if (it == m.ids.end()) { ok = false; break; }
      symbols.push_back(it->second);
    }
    if (!ok || symbols.size() < 2) continue;
    m.words.push_back(std::move(symbols));
    m.freq.push_back(sorted[w].second);
  }
  split.clear();
  sorted.clear();

  auto key = [](int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); };
  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::unordered_set<int32_t>> where;
  auto count_word = [&](int32_t w, int sign, std::unordered_set<uint64_t>* touched) {
    const auto& s = m.words[w];
    for (std::size_t i = 0; i + 1 < s.size(); ++i) {
      const uint64_t k = key(s[i], s[i + 1]);
      pair_count[k] += sign * m.freq[w];
      if (sign > 0) where[k].insert(w);
      if (touched) touched->insert(k);
    }
  };
  for (int32_t w = 0; w < static_cast<int32_t>(m.words.size()); ++w) count_word(w, +1, nullptr);

  auto better = [&](const HeapEntry& a, const HeapEntry& b) {  // true: a ranks below b
    if (a.count != b.count) return a.count < b.count;
    const auto& al = m.vocab[a.left];
    const auto& bl = m.vocab[b.left];
    if (al != bl) return al > bl;
    return m.vocab[a.right] > m.vocab[b.right];
  };
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, decltype(better)> heap(better);
  for (const auto& [k, n] : pair_count)
    if (n > 0) heap.push({n, int32_t(k >> 32), int32_t(k & 0xffffffffu)});

  json merges = json::array();
  while (static_cast<int>(m.vocab.size()) < o.vocab_size && !heap.empty()) {
    const HeapEntry top = heap.top();
    heap.pop();
    const uint64_t k = key(top.left, top.right);
    const auto it = pair_count.find(k);
    const int64_t current = it == pair_count.end() ? 0 : it->second;
    if (current != top.count) {  // stale entry: re-rank with the current count
      if (current > 0) heap.push({current, top.left, top.right});
      continue;
    }
    if (current < o.min_frequency) break;
    const int32_t merged = m.add_token(m.vocab[top.left] + m.vocab[top.right]);
    merges.push_back(json::array({m.vocab[top.left], m.vocab[top.right]}));
    std::vector<int32_t> affected(where[k].begin(), where[k].end());
    std::sort(affected.begin(), affected.end());
    std::unordered_set<uint64_t> touched;
    for (const int32_t w : affected) {
      count_word(w, -1, &touched);
      auto& s = m.words[w];
      std::vector<int32_t> out;
      out.reserve(s.size());
      for (std::size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == top.left && s[i + 1] == top.right) {
          out.push_back(merged);
          ++i;
        } else {
          out.push_back(s[i]);
        }
      }
      s = std::move(out);
      count_word(w, +1, &touched);
    }
    where.erase(k);
    pair_count.erase(k);
    for (const uint64_t t : touched) {
      const auto c = pair_count.find(t);
      if (c == pair_count.end()) continue;
      if (c->second <= 0) {
        pair_count.erase(c);
        where.erase(t);
      } else {
        heap.push({c->second, int32_t(t >> 32), int32_t(t & 0xffffffffu)});
      }
    }
  }
  m.stats.merges = static_cast<int>(merges.size());
  m.stats.vocab_size = static_cast<int>(m.vocab.size());

  json vocab = json::object();
  for (std::size_t i = 0; i < m.vocab.size(); ++i) vocab[m.vocab[i]] = i;
  json added = json::array();
  for (const auto& s : o.special_tokens) added.push_back(added_token(m.ids.at(s), s));
  const bool meta = o.style == BpeStyle::Metaspace;
  json model = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", meta ? json(m.unk) : json(nullptr)},
                {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr},
                {"fuse_unk", meta},
                {"byte_fallback", meta},
                {"ignore_merges", false},
                {"vocab", vocab},
                {"merges", merges}};
  json out = {{"version", "1.0"},
              {"truncation", nullptr},
              {"padding", nullptr},
              {"added_tokens", added},
              {"normalizer", nullptr},
              {"pre_tokenizer", pre_tokenizer_json(o)},
              {"post_processor", post_processor_json(o, m.bos, m.ids.at(m.bos))},
              {"decoder", decoder_json(o)},
              {"model", model}};
  std::string text = out.dump(2, ' ', false);
  // Checks the result loads before anyone writes it.
  Tokenizer::from_json(text, "<trained tokenizer>");
  return text;
}

std::string BpeTrainer::tokenizer_config_json() const {
  const auto& m = *impl_;
  json cfg = {{"tokenizer_class", "PreTrainedTokenizerFast"},
              {"model_max_length", 2048},
              {"clean_up_tokenization_spaces", false},
              {"bos_token", m.bos},
              {"eos_token", m.eos}};
  if (!m.unk.empty()) cfg["unk_token"] = m.unk;
  if (m.options.style == BpeStyle::ByteLevel) cfg["add_prefix_space"] = false;
  return cfg.dump(2) + "\n";
}

const BpeTrainStats& BpeTrainer::stats() const { return impl_->stats; }
const BpeTrainOptions& BpeTrainer::options() const { return impl_->options; }

}  // namespace rlae
