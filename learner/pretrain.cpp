#include "learner/pretrain.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "actors/generate.h"
#include "actors/llama_ops.h"
#include "actors/lm_train.h"
#include "common/answer.h"
#include "common/check.h"
#include "common/dataset.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/prompt.h"
#include "common/safetensors.h"
#include "common/tokenizer.h"

namespace rlae {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kIgnore = -100;
constexpr int64_t kCalibrationSteps = 10;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string hms(double s) {
  const int64_t t = static_cast<int64_t>(s);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(t / 3600),
                  static_cast<long long>(t / 60 % 60), static_cast<long long>(t % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(t / 60),
                  static_cast<long long>(t % 60));
  return buf;
}

// ---------------------------------------------------------------------------
// Examples and the data mix
// ---------------------------------------------------------------------------

struct Example {
  std::vector<int32_t> ids;  // prompt (with the tokenizer's template), target, EOS
  int32_t prompt_len = 0;
};

Example make_example(const Tokenizer& tok, int32_t eos, const Problem& p) {
  Example e;
  e.ids = tok.encode(format_prompt(p.question), /*add_special_tokens=*/true);
  e.prompt_len = static_cast<int32_t>(e.ids.size());
  const std::vector<int32_t> target = tok.encode(format_target(p.answer));
  e.ids.insert(e.ids.end(), target.begin(), target.end());
  e.ids.push_back(eos);
  return e;
}

// Draws training examples as the header describes; tokenizes lazily (memoized).
class Sampler {
 public:
  struct Group {
    size_t file;
    std::string family;
    std::vector<size_t> problems;
    double p = 0;
  };

  Sampler(const PretrainConfig& c, const Tokenizer& tok, int32_t eos)
      : tok_(tok), eos_(eos), max_len_(c.max_seq_len), rng_(c.seed) {
    std::map<std::string, double> fam_w;
    double rest = c.families.empty() ? 1.0 : 0.0;
    for (const auto& [name, w] : c.families) {
      if (name == "*") rest = w;
      else fam_w[name] = w;
    }
    std::set<std::string> seen;
    for (size_t f = 0; f < c.data.size(); ++f) {
      files_.push_back(load_dataset(c.data[f], DatasetOptions{/*require_numeric_gold=*/false}));
      RLAE_CHECK(!files_.back().empty(), c.data[f], ": no problems");
      std::map<std::string, std::vector<size_t>> by_family;
      for (size_t i = 0; i < files_.back().size(); ++i) by_family[files_.back()[i].task].push_back(i);
      const double fw = c.data_weights.empty() ? 1.0 : c.data_weights[f];
      double total = 0;
      std::vector<Group> gs;
      for (auto& [fam, idx] : by_family) {
        seen.insert(fam);
        const double w = c.families.empty() ? static_cast<double>(idx.size())
                         : fam_w.count(fam)  ? fam_w.at(fam)
                                             : rest;
        if (w <= 0) continue;
        total += w;
        gs.push_back({f, fam, std::move(idx), w});
      }
      RLAE_CHECK(fw == 0 || total > 0, c.data[f],
                 ": no problem of a family with a positive weight in --families");
      for (auto& g : gs) {
        g.p = fw * g.p / total;
        if (g.p > 0) groups_.push_back(std::move(g));
      }
      cache_.emplace_back(files_.back().size());
    }
    for (const auto& [name, w] : fam_w) {
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

  const std::vector<Group>& groups() const { return groups_; }

  // An example id (file, problem) of at most max-seq-len tokens.
  std::pair<size_t, size_t> draw() {
    for (int tries = 0; tries < 10000; ++tries) {
      const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
      size_t g = static_cast<size_t>(std::upper_bound(cum_.begin(), cum_.end(), u) - cum_.begin());
      g = std::min(g, groups_.size() - 1);
      const Group& G = groups_[g];
      const size_t i = G.problems[static_cast<size_t>(rng_() % G.problems.size())];
      if (static_cast<int64_t>(example(G.file, i).ids.size()) <= max_len_) return {G.file, i};
      ++skipped_;
    }
    RLAE_FAIL("--max-seq-len ", max_len_, " is too short: 10000 examples in a row were longer");
  }

  const Example& example(size_t file, size_t i) {
    Example& e = cache_[file][i];
    if (e.ids.empty()) e = make_example(tok_, eos_, files_[file][i]);
    return e;
  }

  int64_t skipped() const { return skipped_; }
  void set_skipped(int64_t n) { skipped_ = n; }
  std::string rng_state() const {
    std::ostringstream os;
    os << rng_;
    return os.str();
  }
  void set_rng_state(const std::string& s) {
    std::istringstream is(s);
    is >> rng_;
    RLAE_CHECK(!is.fail(), "checkpoint: bad sampler state");
  }

 private:
  const Tokenizer& tok_;
  int32_t eos_;
  int64_t max_len_;
  std::mt19937_64 rng_;
  std::vector<std::vector<Problem>> files_;
  std::vector<std::vector<Example>> cache_;
  std::vector<Group> groups_;
  std::vector<double> cum_;
  int64_t skipped_ = 0;
};

// ---------------------------------------------------------------------------
// Batches
// ---------------------------------------------------------------------------

struct Batch {
  at::Tensor tokens;     // [B, T] int64
  at::Tensor positions;  // [B, T] int64, or undefined (0..T-1)
  at::Tensor segments;   // [B, T] int64, or undefined (one sequence per row)
  at::Tensor labels;     // [B, T] int64: the next token, or kIgnore
  int64_t tokens_real = 0;
};

// Rows of examples; packed rows carry positions and segments.
Batch make_batch(const std::vector<std::vector<const Example*>>& rows, int64_t T, bool packed,
                 bool loss_all, int32_t pad) {
  const int64_t B = static_cast<int64_t>(rows.size());
  Batch b;
  b.tokens = at::full({B, T}, pad, at::kLong);
  b.labels = at::full({B, T}, kIgnore, at::kLong);
  if (packed) {
    b.positions = at::zeros({B, T}, at::kLong);
    b.segments = at::full({B, T}, -1, at::kLong);
  }
  auto tk = b.tokens.accessor<int64_t, 2>();
  auto lb = b.labels.accessor<int64_t, 2>();
  for (int64_t r = 0; r < B; ++r) {
    int64_t off = 0, seg = 0;
    for (const Example* e : rows[static_cast<size_t>(r)]) {
      const int64_t L = static_cast<int64_t>(e->ids.size());
      for (int64_t t = 0; t < L; ++t) {
        tk[r][off + t] = e->ids[static_cast<size_t>(t)];
        if (t + 1 < L && (loss_all || t + 1 >= e->prompt_len)) lb[r][off + t] = e->ids[static_cast<size_t>(t + 1)];
      }
      if (packed) {
        auto ps = b.positions.accessor<int64_t, 2>();
        auto sg = b.segments.accessor<int64_t, 2>();
        for (int64_t t = 0; t < L; ++t) {
          ps[r][off + t] = t;
          sg[r][off + t] = seg;
        }
        ++seg;
      }
      off += L;
      b.tokens_real += L;
    }
  }
  return b;
}

// Cross-entropy at the labelled positions only (the LM head runs only there).
// reduction: mean over labelled tokens; *count receives their number.
at::Tensor batch_loss(const TrainableLM& lm, const Batch& b, at::Reduction::Reduction reduction,
                      int64_t* count = nullptr) {
  at::Tensor h = lm.hidden_states(b.tokens, b.positions, b.segments);  // [B, T, H]
  at::Tensor flat = b.labels.view({-1});
  at::Tensor where = flat.ne(kIgnore).nonzero().view({-1});
  if (count) *count = where.size(0);
  at::Tensor logits = lm.head(h.view({-1, h.size(-1)}).index_select(0, where));  // [N, V]
  return at::cross_entropy_loss(logits, flat.index_select(0, where), {}, reduction);
}

// ---------------------------------------------------------------------------
// AdamW, written out so that its state is plain named tensors
// ---------------------------------------------------------------------------

struct AdamW {
  std::vector<std::string> names;
  std::vector<at::Tensor> params, m, v;
  std::vector<bool> decay;
  int64_t step = 0;

  explicit AdamW(const TrainableLM& lm) {
    std::map<std::string, WeightKind> kinds;
    for (const auto& s : llama_weight_specs(lm.config())) kinds[s.name] = s.kind;
    for (const auto& [n, p] : lm.named_parameters()) {
      names.push_back(n);
      params.push_back(p);
      m.push_back(at::zeros_like(p));
      v.push_back(at::zeros_like(p));
      const WeightKind k = kinds.at(n);
      decay.push_back(k == WeightKind::linear || k == WeightKind::embedding);
    }
  }
  void zero_grad() {
    for (auto& p : params)
      if (p.grad().defined()) p.mutable_grad().zero_();
  }
  // Scales the gradients to a global norm of at most max_norm (0: no clipping); returns the
  // norm before clipping.
  double clip(double max_norm) {
    std::vector<at::Tensor> norms;
    for (auto& p : params)
      if (p.grad().defined()) norms.push_back(p.grad().norm());
    if (norms.empty()) return 0;
    const double total = at::stack(norms).norm().item<double>();
    if (max_norm > 0 && total > max_norm) {
      const double scale = max_norm / (total + 1e-6);
      for (auto& p : params)
        if (p.grad().defined()) p.mutable_grad().mul_(scale);
    }
    return total;
  }
  void update(double lr, const PretrainConfig& c) {
    at::NoGradGuard no_grad;
    ++step;
    const double bc1 = 1 - std::pow(c.beta1, static_cast<double>(step));
    const double bc2 = 1 - std::pow(c.beta2, static_cast<double>(step));
    for (size_t i = 0; i < params.size(); ++i) {
      if (!params[i].grad().defined()) continue;
      const at::Tensor& g = params[i].grad();
      if (decay[i] && c.weight_decay > 0) params[i].mul_(1 - lr * c.weight_decay);
      m[i].mul_(c.beta1).add_(g, 1 - c.beta1);
      v[i].mul_(c.beta2).addcmul_(g, g, 1 - c.beta2);
      const at::Tensor denom = (v[i] / bc2).sqrt_().add_(c.adam_eps);
      params[i].addcdiv_(m[i], denom, -lr / bc1);
    }
  }
};

// ---------------------------------------------------------------------------
// Evaluation on dev problems
// ---------------------------------------------------------------------------

struct DevSet {
  std::vector<std::string> families;            // sorted
  std::vector<std::vector<Problem>> problems;   // per family
  std::vector<std::vector<Example>> examples;   // per family
  int64_t dropped = 0;                          // longer than max-seq-len
};

DevSet make_dev_set(const PretrainConfig& c, const Tokenizer& tok, int32_t eos) {
  DevSet d;
  std::map<std::string, std::vector<Problem>> by;
  for (auto& p : load_dataset(c.dev_data)) by[p.task].push_back(std::move(p));
  for (auto& [fam, ps] : by) {
    std::vector<Problem> keep;
    std::vector<Example> ex;
    for (auto& p : ps) {
      if (static_cast<int64_t>(keep.size()) >= c.eval_problems) break;
      Example e = make_example(tok, eos, p);
      if (static_cast<int64_t>(e.ids.size()) > c.max_seq_len) {
        ++d.dropped;
        continue;
      }
      keep.push_back(std::move(p));
      ex.push_back(std::move(e));
    }
    if (keep.empty()) continue;
    d.families.push_back(fam);
    d.problems.push_back(std::move(keep));
    d.examples.push_back(std::move(ex));
  }
  RLAE_CHECK(!d.families.empty(), c.dev_data, ": no dev problem fits in --max-seq-len ", c.max_seq_len);
  return d;
}

PretrainEval evaluate(const TrainableLM& lm, const DevSet& dev, const Tokenizer& tok,
                      const PretrainConfig& c, int32_t pad) {
  PretrainEval ev;
  double loss_sum = 0, correct_all = 0;
  int64_t tokens_all = 0, n_all = 0;
  // Greedy answers to every selected problem in one continuous batch. The generation budget
  // is the longest gold target (with EOS) plus 16 tokens, within max-seq-len.
  int64_t min_prompt = std::numeric_limits<int64_t>::max(), max_prompt = 0, max_target = 0;
  std::vector<std::string> prompts;
  for (size_t f = 0; f < dev.families.size(); ++f)
    for (size_t i = 0; i < dev.examples[f].size(); ++i) {
      const Example& e = dev.examples[f][i];
      min_prompt = std::min<int64_t>(min_prompt, e.prompt_len);
      max_prompt = std::max<int64_t>(max_prompt, e.prompt_len);
      max_target = std::max<int64_t>(max_target, static_cast<int64_t>(e.ids.size()) - e.prompt_len);
      prompts.push_back(format_prompt(dev.problems[f][i].question));
    }
  GenerateOptions go;
  go.max_new_tokens = static_cast<int>(std::max<int64_t>(1, std::min(c.max_seq_len - min_prompt, max_target + 16)));
  go.temperature = 0;
  go.add_special_tokens = true;
  ModelOptions mo;
  mo.num_slots = std::min<int64_t>(64, static_cast<int64_t>(prompts.size()));
  mo.max_seq_len = max_prompt + go.max_new_tokens;
  const std::vector<Generation> gens = generate(*lm.to_causal_lm(mo), tok, prompts, go);
  size_t g = 0;

  for (size_t f = 0; f < dev.families.size(); ++f) {
    const auto& exs = dev.examples[f];
    const auto& ps = dev.problems[f];
    double fam_loss = 0;
    int64_t fam_tokens = 0;
    {
      at::NoGradGuard no_grad;
      for (size_t i = 0; i < exs.size(); i += static_cast<size_t>(c.batch_size)) {
        std::vector<std::vector<const Example*>> rows;
        int64_t T = 0;
        for (size_t j = i; j < std::min(exs.size(), i + static_cast<size_t>(c.batch_size)); ++j) {
          rows.push_back({&exs[j]});
          T = std::max<int64_t>(T, static_cast<int64_t>(exs[j].ids.size()));
        }
        int64_t n = 0;
        const Batch b = make_batch(rows, T, false, /*loss_all=*/false, pad);
        fam_loss += batch_loss(lm, b, at::Reduction::Sum, &n).item<double>();
        fam_tokens += n;
      }
    }
    int64_t correct = 0;
    for (size_t i = 0; i < ps.size(); ++i)
      correct += answer_correct(gens[g++].text, ps[i].answer, AnswerMode::numeric) ? 1 : 0;
    PretrainEval::Family fr;
    fr.name = dev.families[f];
    fr.problems = static_cast<int64_t>(ps.size());
    fr.loss = fam_tokens ? fam_loss / static_cast<double>(fam_tokens) : 0;
    fr.accuracy = static_cast<double>(correct) / static_cast<double>(ps.size());
    ev.families.push_back(fr);
    loss_sum += fam_loss;
    tokens_all += fam_tokens;
    correct_all += static_cast<double>(correct);
    n_all += fr.problems;
  }
  ev.loss = tokens_all ? loss_sum / static_cast<double>(tokens_all) : 0;
  ev.accuracy = n_all ? correct_all / static_cast<double>(n_all) : 0;
  return ev;
}

// ---------------------------------------------------------------------------
// Checkpoints: out/checkpoints/step-<N>/{weights,optimizer}.safetensors + state.json
// ---------------------------------------------------------------------------

struct TrainState {
  int64_t step = 0;
  int64_t horizon = -1;  // -1: not calibrated yet
  bool horizon_final = false;  // max-minutes: the estimate is final
  double elapsed_s = 0;
  double eval_cost_s = 0;
  int64_t tokens_seen = 0;
  int64_t pending_file = -1, pending_index = -1;
};

std::string step_dir_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%08lld", static_cast<long long>(step));
  return buf;
}

// The newest complete checkpoint directory under `root`, or "".
std::string latest_checkpoint(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return "";
  std::string best;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step-", 0) != 0 || !fs::exists(e.path() / "state.json")) continue;
    if (name > best) best = name;
  }
  return best.empty() ? "" : root + "/" + best;
}

void save_checkpoint(const std::string& root, const TrainableLM& lm, const AdamW& opt,
                     const Sampler& sampler, const TrainState& st) {
  fs::create_directories(root);
  const std::string final_dir = root + "/" + step_dir_name(st.step);
  const std::string tmp = root + "/.tmp-" + step_dir_name(st.step);
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  std::vector<std::pair<std::string, at::Tensor>> w, o;
  for (const auto& [n, p] : lm.named_parameters()) w.emplace_back(n, p.detach());
  for (size_t i = 0; i < opt.names.size(); ++i) {
    o.emplace_back("m." + opt.names[i], opt.m[i]);
    o.emplace_back("v." + opt.names[i], opt.v[i]);
  }
  save_safetensors(tmp + "/weights.safetensors", w);
  save_safetensors(tmp + "/optimizer.safetensors", o);
  nlohmann::json j;
  j["step"] = st.step;
  j["horizon"] = st.horizon;
  j["horizon_final"] = st.horizon_final;
  j["adam_step"] = opt.step;
  j["elapsed_s"] = st.elapsed_s;
  j["eval_cost_s"] = st.eval_cost_s;
  j["tokens_seen"] = st.tokens_seen;
  j["skipped_examples"] = sampler.skipped();
  j["pending"] = {st.pending_file, st.pending_index};
  j["sampler_rng"] = sampler.rng_state();
  j["model_config"] = nlohmann::json::parse(lm.config().to_json());
  write_file_atomic(tmp + "/state.json", j.dump(1) + "\n");
  fs::remove_all(final_dir);
  rename_file(tmp, final_dir);
  for (const auto& e : fs::directory_iterator(root)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step-", 0) == 0 && name != step_dir_name(st.step)) fs::remove_all(e.path());
  }
}

TrainState load_checkpoint(const std::string& dir, TrainableLM& lm, AdamW& opt, Sampler& sampler) {
  const nlohmann::json j = nlohmann::json::parse(read_file(dir + "/state.json"));
  RLAE_CHECK(j.at("model_config") == nlohmann::json::parse(lm.config().to_json()), dir,
             ": the checkpoint's model differs from the configured one (hidden-size, layers, "
             "heads, vocabulary, ...); resume with the recipe that wrote it");
  const auto w = load_safetensors(dir + "/weights.safetensors");
  lm.load_weights({w.begin(), w.end()});
  const auto o = load_safetensors(dir + "/optimizer.safetensors");
  for (size_t i = 0; i < opt.names.size(); ++i) {
    for (auto [prefix, dst] : {std::pair<const char*, at::Tensor*>{"m.", &opt.m[i]}, {"v.", &opt.v[i]}}) {
      auto it = o.find(prefix + opt.names[i]);
      RLAE_CHECK(it != o.end() && it->second.sizes() == dst->sizes(), dir,
                 "/optimizer.safetensors: missing or misshapen '", prefix, opt.names[i], "'");
      dst->copy_(it->second);
    }
  }
  opt.step = j.at("adam_step").get<int64_t>();
  TrainState st;
  st.step = j.at("step").get<int64_t>();
  st.horizon = j.at("horizon").get<int64_t>();
  st.horizon_final = j.at("horizon_final").get<bool>();
  st.elapsed_s = j.at("elapsed_s").get<double>();
  st.eval_cost_s = j.at("eval_cost_s").get<double>();
  st.tokens_seen = j.at("tokens_seen").get<int64_t>();
  st.pending_file = j.at("pending").at(0).get<int64_t>();
  st.pending_index = j.at("pending").at(1).get<int64_t>();
  sampler.set_skipped(j.at("skipped_examples").get<int64_t>());
  sampler.set_rng_state(j.at("sampler_rng").get<std::string>());
  return st;
}

// Keeps the metrics lines of steps <= `step` (a resumed run rewrites what followed).
void truncate_metrics(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      if (nlohmann::json::parse(line).at("step").get<int64_t>() > step) continue;
    } catch (const std::exception&) {
      continue;  // a torn last line
    }
    kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

// ---------------------------------------------------------------------------
// Set-up checks
// ---------------------------------------------------------------------------

int32_t resolve_eos(const PretrainConfig& c, const Tokenizer& tok) {
  if (!c.eos_token.empty()) {
    auto id = tok.token_to_id(c.eos_token);
    RLAE_CHECK(id.has_value(), c.tokenizer, ": --eos-token '", c.eos_token, "' is not a token");
    return *id;
  }
  for (const char* name : {"</s>", "<|endoftext|>", "<eos>", "<|eos|>", "<|end|>", "<|im_end|>",
                           "<|end_of_text|>", "<|eot_id|>", "[EOS]", "<EOS>"}) {
    auto id = tok.token_to_id(name);
    if (id && tok.is_special(*id)) return *id;
  }
  RLAE_FAIL(c.tokenizer, ": no special EOS token (</s>, <|endoftext|>, <eos>, ...); name one "
            "with --eos-token");
}

std::optional<int32_t> resolve_bos(const PretrainConfig& c, const Tokenizer& tok) {
  const std::vector<int32_t> templ = tok.encode("", true);
  std::optional<int32_t> from_template;
  if (!templ.empty() && tok.encode("a", true).front() == templ.front()) from_template = templ.front();
  if (c.bos_token.empty()) return from_template;
  auto id = tok.token_to_id(c.bos_token);
  RLAE_CHECK(id.has_value(), c.tokenizer, ": --bos-token '", c.bos_token, "' is not a token");
  if (from_template != id)
    RLAE_LOG(warn, c.tokenizer, ": its post-processor does not start sequences with --bos-token '",
             c.bos_token, "'; prompts are encoded as generation encodes them (without it), and "
             "the id is only recorded in config.json");
  return id;
}

void check_config(const PretrainConfig& c) {
  RLAE_USAGE_CHECK(!c.tokenizer.empty(), "rlae pretrain: --tokenizer FILE (tokenizer.json) is required");
  RLAE_USAGE_CHECK(!c.data.empty(), "rlae pretrain: --data FILE[,FILE...] is required");
  RLAE_USAGE_CHECK(!c.out.empty(), "rlae pretrain: --out DIR is required");
  RLAE_USAGE_CHECK(c.data_weights.empty() || c.data_weights.size() == c.data.size(),
                   "--data-weights: ", c.data_weights.size(), " weights for ", c.data.size(), " files");
  for (double w : c.data_weights) RLAE_USAGE_CHECK(w >= 0, "--data-weights must be >= 0");
  for (const auto& kv : c.families) RLAE_USAGE_CHECK(kv.second >= 0, "--families: weights must be >= 0");
  RLAE_USAGE_CHECK(c.hidden_size > 0 && c.num_layers > 0 && c.num_heads > 0,
                   "--hidden-size, --layers and --heads must be positive");
  RLAE_USAGE_CHECK(c.hidden_size % c.num_heads == 0, "--heads ", c.num_heads,
                   " must divide --hidden-size ", c.hidden_size);
  RLAE_USAGE_CHECK((c.hidden_size / c.num_heads) % 2 == 0, "--hidden-size / --heads = ",
                   c.hidden_size / c.num_heads, " must be even (RoPE rotates pairs)");
  const int64_t kv = c.num_kv_heads ? c.num_kv_heads : c.num_heads;
  RLAE_USAGE_CHECK(kv > 0 && c.num_heads % kv == 0, "--kv-heads ", kv, " must divide --heads ", c.num_heads);
  RLAE_USAGE_CHECK(c.intermediate_size >= 0, "--intermediate-size must be >= 0");
  RLAE_USAGE_CHECK(c.max_seq_len >= 8, "--max-seq-len must be >= 8, got ", c.max_seq_len);
  RLAE_USAGE_CHECK(c.rope_theta > 0, "--rope-theta must be positive");
  RLAE_USAGE_CHECK(c.lr > 0 && c.min_lr >= 0 && c.min_lr <= c.lr, "--lr must be positive and --min-lr in [0, lr]");
  RLAE_USAGE_CHECK(c.warmup_steps >= 0 && c.weight_decay >= 0 && c.grad_clip >= 0,
                   "--warmup-steps, --weight-decay and --grad-clip must be >= 0");
  RLAE_USAGE_CHECK(c.batch_size > 0, "--batch-size must be positive");
  RLAE_USAGE_CHECK(c.steps >= 0 && c.max_minutes >= 0 && c.stop_after >= 0,
                   "--steps, --max-minutes and --stop-after must be >= 0");
  RLAE_USAGE_CHECK(c.steps > 0 || c.max_minutes > 0, "rlae pretrain: give --steps or --max-minutes");
  RLAE_USAGE_CHECK(c.eval_every >= 0 && c.eval_problems > 0 && c.checkpoint_every >= 0 && c.log_every > 0,
                   "--eval-every and --checkpoint-every must be >= 0, --eval-problems and --log-every positive");
  RLAE_USAGE_CHECK(c.threads >= 0, "--threads must be >= 0");
}

// Creates `out` (and parents) and proves it writable.
void prepare_out(const std::string& out) {
  std::error_code ec;
  fs::create_directories(out, ec);
  RLAE_CHECK(!ec && fs::is_directory(out), out, ": cannot create the output directory (",
             ec ? ec.message() : std::string("not a directory"), ")");
  const std::string probe = out + "/.rlae-write-test";
  {
    std::ofstream f(probe);
    f << "x";
    f.flush();
    RLAE_CHECK(f.good(), out, ": the output directory is not writable");
  }
  fs::remove(probe, ec);
}

ModelConfig model_config(const PretrainConfig& c, const Tokenizer& tok, int32_t eos,
                         std::optional<int32_t> bos) {
  ModelConfig m;
  m.arch = ModelArch::llama;
  m.vocab_size = tok.vocab_size();
  m.hidden_size = c.hidden_size;
  m.num_layers = c.num_layers;
  m.num_heads = c.num_heads;
  m.num_kv_heads = c.num_kv_heads ? c.num_kv_heads : c.num_heads;
  m.head_dim = c.hidden_size / c.num_heads;
  m.intermediate_size = c.intermediate_size ? c.intermediate_size : (8 * c.hidden_size / 3 + 31) / 32 * 32;
  m.max_position_embeddings = c.max_seq_len;
  m.rms_norm_eps = 1e-5;
  m.rope.theta = c.rope_theta;
  m.tie_word_embeddings = c.tie_embeddings;
  m.torch_dtype = "float32";
  m.bos_token_id = bos;
  m.eos_token_ids = {eos};
  m.source = "rlae pretrain";
  m.validate();
  return m;
}

std::string tokenizer_config_json(const Tokenizer& tok, int32_t eos, std::optional<int32_t> bos,
                                  int64_t max_len) {
  nlohmann::json j;
  j["tokenizer_class"] = "PreTrainedTokenizerFast";
  j["eos_token"] = tok.id_to_token(eos);
  if (bos) j["bos_token"] = tok.id_to_token(*bos);
  j["model_max_length"] = max_len;
  j["clean_up_tokenization_spaces"] = false;
  return j.dump(2) + "\n";
}

class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled), tty_(enabled && ::isatty(STDERR_FILENO)) {}
  // A transient line on a TTY (redrawn in place), or a plain line when `keep`.
  void update(const std::string& line, bool keep) {
    if (!enabled_) return;
    if (tty_) {
      std::fprintf(stderr, "\r%s\033[K", line.c_str());
      if (keep) std::fputc('\n', stderr);
    } else if (keep) {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
  }
  // A line of its own that the transient line does not overwrite.
  void message(const std::string& line) {
    if (!enabled_) return;
    std::fprintf(stderr, tty_ ? "\r%s\033[K\n" : "%s\n", line.c_str());
    std::fflush(stderr);
  }
  bool tty() const { return tty_; }

 private:
  bool enabled_, tty_;
};

std::string format_eval(const PretrainEval& ev) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(3);
  os << "eval step " << ev.step << ": dev loss " << ev.loss << ", accuracy " << ev.accuracy << " (";
  for (size_t i = 0; i < ev.families.size(); ++i)
    os << (i ? " " : "") << ev.families[i].name << " " << ev.families[i].accuracy;
  os << ")";
  return os.str();
}

nlohmann::json eval_json(const PretrainEval& ev, double seconds) {
  nlohmann::json j;
  j["type"] = "eval";
  j["step"] = ev.step;
  j["loss"] = ev.loss;
  j["accuracy"] = ev.accuracy;
  j["eval_s"] = seconds;
  for (const auto& f : ev.families)
    j["families"][f.name] = {{"problems", f.problems}, {"loss", f.loss}, {"accuracy", f.accuracy}};
  return j;
}

}  // namespace

// ---------------------------------------------------------------------------

std::vector<std::pair<std::string, double>> parse_family_weights(const std::string& text) {
  std::vector<std::pair<std::string, double>> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    if (item.empty()) continue;
    const auto colon = item.rfind(':');
    std::string name = item.substr(0, colon);
    double w = 1.0;
    if (colon != std::string::npos) {
      const std::string num = item.substr(colon + 1);
      char* end = nullptr;
      w = std::strtod(num.c_str(), &end);
      RLAE_USAGE_CHECK(!num.empty() && end && *end == '\0' && w >= 0 && std::isfinite(w),
                       "--families: expected NAME:WEIGHT with WEIGHT >= 0, got '", item, "'");
    }
    RLAE_USAGE_CHECK(!name.empty(), "--families: empty family name in '", text, "'");
    out.emplace_back(name, w);
  }
  return out;
}

double pretrain_lr(const PretrainConfig& c, int64_t step, int64_t horizon) {
  if (c.warmup_steps > 0 && step < c.warmup_steps)
    return c.lr * static_cast<double>(step + 1) / static_cast<double>(c.warmup_steps);
  const int64_t span = horizon - 1 - c.warmup_steps;
  if (horizon < 0 || span <= 0) return c.lr;
  const double progress = std::min(1.0, static_cast<double>(step - c.warmup_steps) / static_cast<double>(span));
  return c.min_lr + 0.5 * (c.lr - c.min_lr) * (1 + std::cos(M_PI * progress));
}

PretrainResult pretrain(const PretrainConfig& c) {
  const auto t_start = Clock::now();
  check_config(c);
  if (c.threads > 0) at::set_num_threads(c.threads);
  const Tokenizer tok = Tokenizer::from_file(c.tokenizer);
  const int32_t eos = resolve_eos(c, tok);
  const std::optional<int32_t> bos = resolve_bos(c, tok);
  const ModelConfig mc = model_config(c, tok, eos, bos);
  Sampler sampler(c, tok, eos);
  const bool do_eval = !c.dev_data.empty();
  if (!do_eval) RLAE_LOG(info, "pretrain: no --dev-data, no evaluation");
  DevSet dev;
  if (do_eval) dev = make_dev_set(c, tok, eos);
  prepare_out(c.out);
  const std::string ckpt_root = c.out + "/checkpoints";
  const std::string latest = latest_checkpoint(ckpt_root);
  RLAE_CHECK(c.resume || latest.empty(), c.out, " already holds a checkpoint (", latest,
             "); pass --resume to continue it or choose another --out");

  TrainableLM lm(mc, c.seed, c.init_std);
  AdamW opt(lm);
  TrainState st;
  if (c.resume && !latest.empty()) {
    st = load_checkpoint(latest, lm, opt, sampler);
    RLAE_LOG(info, "resuming from ", latest, " (step ", st.step, ")");
  } else if (c.resume) {
    RLAE_LOG(info, "--resume: no checkpoint in ", ckpt_root, "; starting from scratch");
  }
  if (c.steps > 0) st.horizon = c.steps;

  // Outputs that do not depend on training.
  const std::string metrics_path = c.out + "/metrics.jsonl";
  if (st.step > 0) truncate_metrics(metrics_path, st.step);
  else write_file_atomic(metrics_path, "");
  if (!c.recipe_ini.empty()) write_file_atomic(c.out + "/pretrain.ini", c.recipe_ini);
  write_file_atomic(c.out + "/tokenizer.json", read_file(c.tokenizer));
  write_file_atomic(c.out + "/tokenizer_config.json",
                    tokenizer_config_json(tok, eos, bos, c.max_seq_len));
  std::ofstream metrics(metrics_path, std::ios::app);
  RLAE_CHECK(metrics.good(), metrics_path, ": cannot open for appending");

  PretrainResult res;
  res.first_step = st.step;
  res.num_parameters = lm.num_parameters();
  {
    std::ostringstream mix;
    for (const auto& g : sampler.groups())
      mix << " " << g.family << (c.data.size() > 1 ? "@" + std::to_string(g.file) : "") << ":"
          << std::round(g.p * 1000) / 1000;
    RLAE_LOG(info, "pretrain: ", res.num_parameters, " parameters (hidden ", mc.hidden_size,
             ", layers ", mc.num_layers, ", heads ", mc.num_heads, "/", mc.num_kv_heads,
             ", intermediate ", mc.intermediate_size, ", vocab ", mc.vocab_size, "), ",
             at::get_num_threads(), " threads; mix", mix.str());
  }

  Progress progress(c.progress);
  const double budget_s = c.max_minutes * 60;
  const int32_t pad = eos;
  auto run_eval = [&](int64_t step) {
    const auto t0 = Clock::now();
    PretrainEval ev = evaluate(lm, dev, tok, c, pad);
    ev.step = step;
    const double s = seconds_since(t0);
    st.eval_cost_s = s;
    metrics << eval_json(ev, s).dump() << "\n" << std::flush;
    progress.message(format_eval(ev) + " [" + hms(s) + "]");
    res.evals.push_back(ev);
  };
  // The time budget counts everything since this call began (set-up and evaluations too),
  // plus the time of the runs before a resumed checkpoint.
  const double elapsed0 = st.elapsed_s;
  auto elapsed = [&] { return elapsed0 + seconds_since(t_start); };
  if (do_eval && c.eval_every > 0 && st.step == 0) run_eval(0);

  double train_s = 0, calib_s = 0;
  int64_t recalibrate_at = kCalibrationSteps;
  int64_t run_tokens = 0, last_eval = st.step, last_ckpt = st.step;
  double win_loss = 0;
  int64_t win_n = 0;
  bool stopped_by_time = false;
  const Example* pending = st.pending_file >= 0
                               ? &sampler.example(static_cast<size_t>(st.pending_file),
                                                  static_cast<size_t>(st.pending_index))
                               : nullptr;
  while (st.horizon < 0 || st.step < st.horizon) {
    if (c.stop_after > 0 && st.step >= c.stop_after) break;
    if (budget_s > 0 && elapsed() >= budget_s) {
      stopped_by_time = true;
      break;
    }
    const auto t0 = Clock::now();
    // The batch.
    std::vector<std::vector<const Example*>> rows(static_cast<size_t>(c.batch_size));
    int64_t T = 0;
    for (auto& row : rows) {
      if (!c.packing) {
        const auto [f, i] = sampler.draw();
        row.push_back(&sampler.example(f, i));
        T = std::max<int64_t>(T, static_cast<int64_t>(row.back()->ids.size()));
        continue;
      }
      T = c.max_seq_len;
      int64_t used = 0;
      while (true) {
        if (!pending) {
          const auto [f, i] = sampler.draw();
          pending = &sampler.example(f, i);
          st.pending_file = static_cast<int64_t>(f);
          st.pending_index = static_cast<int64_t>(i);
        }
        const int64_t L = static_cast<int64_t>(pending->ids.size());
        if (used + L > T) break;
        row.push_back(pending);
        used += L;
        pending = nullptr;
        st.pending_file = st.pending_index = -1;
      }
    }
    const Batch b = make_batch(rows, T, c.packing, c.loss_all_tokens, pad);
    const double lr = pretrain_lr(c, st.step, st.horizon);
    opt.zero_grad();
    at::Tensor loss = batch_loss(lm, b, at::Reduction::Mean);
    loss.backward();
    const double gnorm = opt.clip(c.grad_clip);
    opt.update(lr, c);
    const double loss_v = loss.item<double>();
    RLAE_CHECK(std::isfinite(loss_v), "pretrain: the loss is ", loss_v, " at step ", st.step + 1,
               "; lower --lr or raise --warmup-steps");
    ++st.step;
    const double dt = seconds_since(t0);
    train_s += dt;
    if (st.step - res.first_step > 1) calib_s += dt;
    run_tokens += b.tokens_real;
    st.tokens_seen += b.tokens_real;
    res.losses.push_back(loss_v);
    win_loss += loss_v;
    ++win_n;

    // Fix the schedule's length for a time budget: a first estimate after 10 steps, the final
    // one after an eighth of that (the tokenization cache warm, an evaluation timed).
    const int64_t run_steps = st.step - res.first_step;
    if (c.steps == 0 && !st.horizon_final &&
        (st.horizon < 0 ? run_steps == kCalibrationSteps : run_steps == recalibrate_at)) {
      const double per_step = calib_s / static_cast<double>(run_steps - 1);
      const double eval_per_step = do_eval && c.eval_every > 0 ? st.eval_cost_s / static_cast<double>(c.eval_every) : 0;
      const double left = budget_s * 0.95 - elapsed() - (do_eval ? st.eval_cost_s : 0) - 2.0;
      st.horizon_final = st.horizon >= 0;
      st.horizon = st.step + std::max<int64_t>(1, static_cast<int64_t>(left / (per_step + eval_per_step)));
      recalibrate_at = std::max<int64_t>(3 * kCalibrationSteps, (st.horizon - res.first_step) / 8);
      char msg[200];
      std::snprintf(msg, sizeof msg, "max-minutes %g: %.1f ms/step, %.1f s/evaluation -> %lld steps%s",
                    c.max_minutes, per_step * 1000, do_eval ? st.eval_cost_s : 0.0,
                    static_cast<long long>(st.horizon), st.horizon_final ? "" : " (first estimate)");
      progress.message(msg);
    }

    const double tps = static_cast<double>(run_tokens) / std::max(train_s, 1e-9);
    const bool log_line = st.step % c.log_every == 0 || st.step == st.horizon;
    if (log_line || progress.tty()) {
      char line[256];
      const double el = elapsed();
      const double eta = st.horizon > 0 ? el / static_cast<double>(st.step - res.first_step) *
                                              static_cast<double>(st.horizon - st.step)
                                        : 0;
      std::snprintf(line, sizeof line,
                    "step %lld/%s  loss %.4f  lr %.2e  %.1fk tok/s  elapsed %s  eta %s",
                    static_cast<long long>(st.step),
                    st.horizon > 0 ? std::to_string(st.horizon).c_str() : "?",
                    win_loss / static_cast<double>(win_n), lr, tps / 1000, hms(el).c_str(),
                    st.horizon > 0 ? hms(eta).c_str() : "?");
      progress.update(line, log_line && !progress.tty());
    }
    if (log_line) {
      nlohmann::json j = {{"type", "train"}, {"step", st.step}, {"loss", win_loss / static_cast<double>(win_n)},
                          {"lr", lr}, {"grad_norm", gnorm}, {"tokens", st.tokens_seen},
                          {"tok_per_s", tps}, {"elapsed_s", elapsed()}};
      metrics << j.dump() << "\n" << std::flush;
      win_loss = 0;
      win_n = 0;
    }
    if (do_eval && c.eval_every > 0 && st.step % c.eval_every == 0 && st.step != st.horizon) {
      run_eval(st.step);
      last_eval = st.step;
    }
    if (c.checkpoint_every > 0 && st.step % c.checkpoint_every == 0) {
      st.elapsed_s = elapsed();
      save_checkpoint(ckpt_root, lm, opt, sampler, st);
      last_ckpt = st.step;
    }
  }
  if (progress.tty()) progress.message("");
  if (stopped_by_time)
    RLAE_LOG(warn, "pretrain: --max-minutes ", c.max_minutes, " reached at step ", st.step,
             (st.horizon > 0 ? " of " + std::to_string(st.horizon) : std::string()),
             "; the learning-rate schedule did not finish");
  if (do_eval && last_eval != st.step) run_eval(st.step);
  if (last_ckpt != st.step) {
    st.elapsed_s = elapsed();
    save_checkpoint(ckpt_root, lm, opt, sampler, st);
  }
  lm.save(c.out);
  res.last_step = st.step;
  res.horizon = st.horizon;
  res.tokens_per_second = static_cast<double>(run_tokens) / std::max(train_s, 1e-9);
  res.skipped_examples = sampler.skipped();
  RLAE_LOG(info, "pretrain: step ", st.step, ", ", static_cast<int64_t>(res.tokens_per_second),
           " training tokens/s, ", sampler.skipped(), " drawn examples longer than --max-seq-len skipped; wrote ",
           c.out, " in ", hms(seconds_since(t_start)));
  return res;
}

}  // namespace rlae
