#include "learner/pretrain/sampler.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "common/check.h"
#include "common/prompt.h"
#include "common/tokenizer.h"
#include "learner/pretrain/pretrain.h"

namespace rlae::pretraining {
namespace {

// --families as a lookup: a named family's weight, or `rest` ("*"); `natural` (no list): each
// family weighs its number of problems.
struct FamilyWeights {
  std::map<std::string, double> named;
  double rest = 1.0;
  bool natural = true;

  explicit FamilyWeights(const PretrainConfig& c) : rest(c.families.empty() ? 1.0 : 0.0), natural(c.families.empty()) {
    for (const auto& [name, w] : c.families) {
      if (name == "*") rest = w;
      else named[name] = w;
    }
  }
  double of(const std::string& family, size_t problems) const {
    return natural ? static_cast<double>(problems) : named.count(family) ? named.at(family) : rest;
  }
};

// The groups of file f with positive probability (file weight x family share, not yet
// normalized over files); records the families seen.
std::vector<Sampler::Group> file_groups(const PretrainConfig& c, size_t f, const std::vector<Problem>& problems,
                                        const FamilyWeights& weights, std::set<std::string>& seen) {
  std::map<std::string, std::vector<size_t>> by_family;
  for (size_t i = 0; i < problems.size(); ++i) by_family[problems[i].task].push_back(i);
  const double fw = c.data_weights.empty() ? 1.0 : c.data_weights[f];
  double total = 0;
  std::vector<Sampler::Group> gs;
  for (auto& [fam, idx] : by_family) {
    seen.insert(fam);
    const double w = weights.of(fam, idx.size());
    if (w <= 0) continue;
    total += w;
    gs.push_back({f, fam, std::move(idx), w});
  }
  RLAE_CHECK(fw == 0 || total > 0, c.data[f], ": no problem of a family with a positive weight in --families");
  std::vector<Sampler::Group> out;
  for (auto& g : gs) {
    g.p = fw * g.p / total;
    if (g.p > 0) out.push_back(std::move(g));
  }
  return out;
}

}  // namespace

Example make_example(const Tokenizer& tok, int32_t eos, const Problem& p) {
  Example e;
  e.ids = tok.encode(format_prompt(p.question), /*add_special_tokens=*/true);
  e.prompt_len = static_cast<int32_t>(e.ids.size());
  const std::vector<int32_t> target = tok.encode(format_target(p.answer));
  e.ids.insert(e.ids.end(), target.begin(), target.end());
  e.ids.push_back(eos);
  return e;
}

Sampler::Sampler(const PretrainConfig& c, const Tokenizer& tok, int32_t eos)
    : tok_(tok), eos_(eos), max_len_(c.max_seq_len), rng_(c.seed) {
  const FamilyWeights weights(c);
  std::set<std::string> seen;
  for (size_t f = 0; f < c.data.size(); ++f) {
    files_.push_back(load_dataset(c.data[f], DatasetOptions{/*require_numeric_gold=*/false}));
    RLAE_CHECK(!files_.back().empty(), c.data[f], ": no problems");
    for (auto& g : file_groups(c, f, files_.back(), weights, seen)) groups_.push_back(std::move(g));
    cache_.emplace_back(files_.back().size());
  }
  for (const auto& [name, w] : weights.named) {
    if (seen.count(name)) continue;
    std::string avail;
    for (const auto& s : seen) avail += (avail.empty() ? "" : ",") + s;
    RLAE_CHECK(false, "--families: no problem of family '", name, "' in --data (families: ", avail, ")");
  }
  double sum = 0;
  for (const auto& g : groups_) sum += g.p;
  RLAE_CHECK(sum > 0, "--data / --families: every weight is zero");
  double acc = 0;
  for (auto& g : groups_) {
    g.p /= sum;
    acc += g.p;
    cum_.push_back(acc);
  }
}

std::pair<size_t, size_t> Sampler::draw() {
  for (int tries = 0; tries < 10000; ++tries) {
    const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;  // uniform in [0, 1), 53 bits
    size_t g = static_cast<size_t>(std::upper_bound(cum_.begin(), cum_.end(), u) - cum_.begin());
    g = std::min(g, groups_.size() - 1);
    const Group& G = groups_[g];
    const size_t i = G.problems[static_cast<size_t>(rng_() % G.problems.size())];
    if (static_cast<int64_t>(example(G.file, i).ids.size()) <= max_len_) return {G.file, i};
    ++skipped_;
  }
  RLAE_FAIL("--max-seq-len ", max_len_, " is too short: 10000 examples in a row were longer");
}

const Example& Sampler::example(size_t file, size_t i) {
  Example& e = cache_[file][i];
  if (e.ids.empty()) {
    e = make_example(tok_, eos_, files_[file][i]);
    e.file = file;
    e.index = i;
  }
  return e;
}

std::vector<const Problem*> Sampler::mix_problems() const {
  std::vector<const Problem*> out;
  for (const Group& g : groups_)
    if (g.p > 0)
      for (size_t i : g.problems) out.push_back(&files_[g.file][i]);
  return out;
}

std::string Sampler::rng_state() const {
  std::ostringstream os;
  os << rng_;
  return os.str();
}

void Sampler::set_rng_state(const std::string& s) {
  std::istringstream is(s);
  is >> rng_;
  RLAE_CHECK(!is.fail(), "checkpoint: bad sampler state");
}

}  // namespace rlae::pretraining
