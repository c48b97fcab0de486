#include "actors/decode_session.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <limits>

#include "common/check.h"
#include "common/rng.h"
#include "kernels/mixture.h"
#include "kernels/topk_union.h"

namespace rlae {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Adds the wall time of the enclosing scope to `acc`.
struct Timer {
  double& acc;
  Clock::time_point t0 = Clock::now();
  ~Timer() { acc += since(t0); }
};

DType dtype_of(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return DType::f32;
    case at::kDouble: return DType::f64;
    case at::kInt: return DType::i32;
    case at::kLong: return DType::i64;
    case at::kByte: return DType::u8;
    default: RLAE_FAIL("exchange: unsupported dtype ", t.scalar_type());
  }
}

int64_t count_sentences(const std::string& text) {
  int64_t n = 0;
  for (size_t pos = text.find(". "); pos != std::string::npos; pos = text.find(". ", pos + 2)) ++n;
  return n;
}

// Mean negative log-likelihood of a prompt under the member (PackLLM-sim).
float prompt_nll(CausalLM& model, const std::vector<int32_t>& ids) {
  if (ids.size() < 2) return 0.0f;
  const at::Tensor logits = model.forward_full(ids);  // [T, V]
  const at::Tensor logp = at::log_softmax(logits.slice(0, 0, static_cast<int64_t>(ids.size()) - 1), 1);
  std::vector<int64_t> next(ids.begin() + 1, ids.end());
  const at::Tensor tgt = at::tensor(next, at::kLong).to(logits.device()).unsqueeze(1);
  return -logp.gather(1, tgt).mean().item<float>();
}

}  // namespace

MixMode parse_mix_mode(const std::string& name) {
  if (name == "sparse") return MixMode::sparse;
  if (name == "dense") return MixMode::dense;
  if (name == "full") return MixMode::full;
  RLAE_FAIL("mix mode '", name, "' is not one of sparse|dense|full");
}

void EnsembleStats::add(const EnsembleStats& o) {
  tokens += o.tokens;
  steps += o.steps;
  seconds += o.seconds;
  forward_seconds += o.forward_seconds;
  exchange_seconds += o.exchange_seconds;
  decide_seconds += o.decide_seconds;
}

// One row of the batch: a prompt being decoded in one slot.
struct Row {
  size_t prompt = 0;
  int64_t slot = 0;
  int64_t generated = 0;  // tokens chosen so far (EOS excluded)
  std::vector<float> weights;
  float prompt_nll = 0;
  at::Tensor context;  // [H] the member's final hidden state averaged over the prompt (model device)
};

struct DecodeSession::Pass {
  WeightPolicy& policy;
  const std::vector<EnsemblePrompt>& prompts;
  std::vector<std::vector<int32_t>> prompt_ids;
  std::vector<EnsembleResult> out;
  std::deque<size_t> pending;
  std::vector<int64_t> free_slots;
  std::vector<Row> rows;
  at::Tensor logits, hidden;  // [rows, V], [rows, H] for `rows`, in order (model device)
  size_t finished = 0;
  std::vector<int32_t> dense_ids;  // dense mode: this step's chosen member ids (shared vocabulary)
  EnsembleStats st;
};

struct DecodeSession::Step {
  int64_t R = 0;
  at::Tensor probs;            // [R, V] model device
  at::Tensor entropy, top1, margin;  // [R] host
  std::vector<int64_t> decide; // rows at a decision point
};

DecodeSession::DecodeSession(Member& member, const UnionVocab& vocab, Communicator& comm,
                             const EnsembleOptions& options)
    : member_(member),
      vocab_(vocab),
      comm_(comm),
      options_(options),
      model_device_(member.model->options().device),
      exchange_device_(comm.device_buffers() ? member.model->options().device : at::Device(at::kCPU)) {
  const int m = comm.rank(), K = comm.size();
  RLAE_CHECK(vocab.num_members() == K, "ensemble: the union vocabulary has ", vocab.num_members(),
             " members but the group has ", K);
  RLAE_CHECK(options.temperature >= 0 && std::isfinite(options.temperature),
             "ensemble: temperature must be >= 0, got ", options.temperature);
  RLAE_CHECK(options.span >= 1 && options.max_new_tokens >= 1 && options.top_k >= 1, "ensemble: span, "
             "max_new_tokens and top_k must be >= 1 (got ", options.span, ", ", options.max_new_tokens, ", ",
             options.top_k, ")");
  RLAE_CHECK(!comm.device_buffers() || !model_device_.is_cpu(), "ensemble: the ", comm.backend(),
             " communicator needs device buffers but ", member.dir, " runs on the CPU");
  RLAE_CHECK(!comm.device_buffers() || model_device_.index() == comm.device_index(), "ensemble: ",
             member.dir, " runs on ", model_device_.str(), " but its ", comm.backend(),
             " communicator exchanges on cuda:", comm.device_index());
  const int64_t V = member.model->config().vocab_size;
  view_ = MemberVocabView::build(vocab, m, V, model_device_);
  // Observation widths and vocabulary sizes of every member, in one collective.
  int64_t mine[2] = {agent_observation_width(member.model->config().hidden_size), V};
  std::vector<int64_t> all(static_cast<size_t>(2 * K));
  all_gather_host(comm, mine, all.data(), 2);
  for (int k = 0; k < K; ++k) obs_dims_.push_back(all[static_cast<size_t>(2 * k)]);
  obs_width_ = *std::max_element(obs_dims_.begin(), obs_dims_.end());
  if (options.mode == MixMode::dense) {
    // Dense needs one shared vocabulary: every member's id i is the same union token.
    for (int k = 0; k < K; ++k) {
      RLAE_CHECK(all[static_cast<size_t>(2 * k + 1)] == V, "ensemble --mix dense: member ", k,
                 " has a vocabulary of ", all[static_cast<size_t>(2 * k + 1)], " but member ", m, " has ", V,
                 "; use --mix sparse");
      RLAE_CHECK(vocab.member_to_union(k) == vocab.member_to_union(m), "ensemble --mix dense: member ", k,
                 " tokenizes differently from member ", m, "; dense mixing needs one shared tokenizer "
                 "(use --mix sparse)");
    }
  }
}

DecodeSession::~DecodeSession() = default;

at::Tensor DecodeSession::gather(const at::Tensor& mine_in, Pass& p) {
  const at::Tensor mine = mine_in.to(exchange_device_).contiguous();
  std::vector<int64_t> shape{comm_.size()};
  for (int64_t d : mine.sizes()) shape.push_back(d);
  at::Tensor all = at::empty(shape, mine.options());
  Timer t{p.st.exchange_seconds};
  comm_.all_gather(mine.data_ptr(), all.data_ptr(), static_cast<size_t>(mine.numel()), dtype_of(mine));
  return all;
}

std::vector<EnsembleResult> DecodeSession::decode(WeightPolicy& policy, const std::vector<EnsemblePrompt>& prompts,
                                                  EnsembleStats* stats, const EnsembleProgress& progress) {
  c10::InferenceMode guard;
  const auto t_start = Clock::now();
  Pass p{policy, prompts};
  p.out.resize(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    p.prompt_ids.push_back(member_.tokenizer.encode(prompts[i].text, options_.add_special_tokens));
    RLAE_CHECK(!p.prompt_ids.back().empty(), "ensemble: prompt ", i, " encodes to no tokens for ", member_.dir);
    p.pending.push_back(i);
  }
  for (int64_t s = member_.model->num_slots() - 1; s >= 0; --s) p.free_slots.push_back(s);
  while (!p.pending.empty() || !p.rows.empty()) {
    admit_prompts(p);
    if (p.rows.empty()) break;
    ++p.st.steps;
    Step s = observe(p);
    decide(p, s);
    const std::vector<int32_t> chosen = exchange_and_mix(p, s);
    append(p, s, chosen);
    if (progress) progress(p.finished, prompts.size());
  }
  p.st.seconds = since(t_start);
  if (stats != nullptr) *stats = p.st;
  return std::move(p.out);
}

void DecodeSession::admit_prompts(Pass& p) {
  CausalLM& model = *member_.model;
  std::vector<Row> fresh;
  std::vector<int64_t> slots;
  std::vector<std::vector<int32_t>> ids;
  while (!p.pending.empty() && !p.free_slots.empty()) {
    Row r;
    r.prompt = p.pending.front();
    r.slot = p.free_slots.back();
    r.weights.assign(static_cast<size_t>(comm_.size()), 1.0f / comm_.size());
    p.pending.pop_front();
    p.free_slots.pop_back();
    const auto& pid = p.prompt_ids[r.prompt];
    RLAE_CHECK(static_cast<int64_t>(pid.size()) + options_.max_new_tokens <= model.max_seq_len(), "ensemble: prompt ",
               r.prompt, " (", pid.size(), " tokens) plus ", options_.max_new_tokens, " new tokens exceeds ",
               member_.dir, "'s max_seq_len ", model.max_seq_len());
    if (p.policy.needs_prompt_nll()) {
      Timer t{p.st.forward_seconds};
      r.prompt_nll = prompt_nll(model, pid);
    }
    p.out[r.prompt].member_ids = pid;
    slots.push_back(r.slot);
    ids.push_back(pid);
    fresh.push_back(std::move(r));
  }
  if (fresh.empty()) return;
  LMOutput o;
  {
    Timer t{p.st.forward_seconds};
    o = model.prefill(slots, ids);
  }
  const bool keep = p.logits.defined() && !p.rows.empty();
  p.logits = keep ? at::cat({p.logits, o.logits}) : o.logits;
  p.hidden = keep ? at::cat({p.hidden, o.hidden}) : o.hidden;
  for (size_t j = 0; j < fresh.size(); ++j) {
    fresh[j].context = o.mean_hidden[static_cast<int64_t>(j)];
    p.rows.push_back(std::move(fresh[j]));
  }
}

DecodeSession::Step DecodeSession::observe(Pass& p) {
  Step s;
  s.R = static_cast<int64_t>(p.rows.size());
  const int64_t V = view_.vocab_size;
  s.probs = at::softmax(p.logits, 1);  // [R, V]
  const auto top2 = s.probs.topk(std::min<int64_t>(2, V), 1);
  const at::Tensor top1 = std::get<0>(top2).select(1, 0);
  const at::Tensor margin = V > 1 ? top1 - std::get<0>(top2).select(1, 1) : top1;
  const at::Tensor entropy = -(s.probs * at::log_softmax(p.logits, 1)).sum(1);
  const at::Tensor host = at::stack({entropy, top1, margin}, 1).to(at::kCPU);  // one copy per step
  s.entropy = host.select(1, 0);
  s.top1 = host.select(1, 1);
  s.margin = host.select(1, 2);
  for (int64_t r = 0; r < s.R; ++r) {
    if (p.policy.every_token() || p.rows[static_cast<size_t>(r)].generated % options_.span == 0) s.decide.push_back(r);
  }
  return s;
}

void DecodeSession::decide(Pass& p, Step& s) {
  const int m = comm_.rank(), K = comm_.size();
  const int64_t R = s.R, n = static_cast<int64_t>(s.decide.size());
  at::Tensor feats = at::zeros({R, kNumFeatures}, at::kFloat);
  feats.select(1, kEntropy).copy_(s.entropy);
  feats.select(1, kTop1).copy_(s.top1);
  feats.select(1, kMargin).copy_(s.margin);
  for (int64_t r = 0; r < R; ++r) feats[r][kPromptNll] = p.rows[static_cast<size_t>(r)].prompt_nll;
  DecisionContext ctx;
  ctx.num_members = K;
  if (n > 0) {
    std::vector<at::Tensor> context;
    for (int64_t r : s.decide) {
      const Row& row = p.rows[static_cast<size_t>(r)];
      ctx.prompts.push_back(row.prompt);
      ctx.span_index.push_back(row.generated / options_.span);
      ctx.solution_step.push_back(count_sentences(p.out[row.prompt].text));
      ctx.tasks.push_back(p.prompts[row.prompt].task);
      context.push_back(row.context);
    }
    const at::Tensor idx = at::tensor(s.decide, at::kLong);
    MemberObs obs{p.hidden.index_select(0, idx.to(model_device_)).to(at::kCPU), at::stack(context).to(at::kCPU),
                  s.entropy.index_select(0, idx), s.top1.index_select(0, idx), s.margin.index_select(0, idx)};
    if (p.policy.wants_observations()) {
      const at::Tensor own = agent_observation(obs.hidden, obs.context, obs.entropy, obs.top1, obs.margin,
                                               ctx.span_index);
      at::Tensor padded = at::zeros({n, obs_width_}, at::kFloat);
      padded.narrow(1, 0, own.size(1)).copy_(own);
      ctx.observations = gather(padded, p).to(at::kCPU);  // [K, n, obs_width]
      ctx.obs_dims = obs_dims_;
    }
    Timer t{p.st.decide_seconds};
    const at::Tensor local = p.policy.local(m, obs, ctx).to(at::kFloat);
    const bool with_logp = local.dim() == 2 && local.size(1) == 2;
    RLAE_CHECK(local.size(0) == n && (local.dim() == 1 || with_logp), "policy ", p.policy.name(),
               ": local() must return [", n, "] or [", n, ", 2], got ", local.sizes());
    feats.select(1, kLocal).index_copy_(0, idx, with_logp ? local.select(1, 0) : local);
    if (with_logp) feats.select(1, kLocalLogProb).index_copy_(0, idx, local.select(1, 1));
  }
  const at::Tensor all_feats = gather(feats, p).to(at::kCPU);  // [K, R, kNumFeatures]
  if (n == 0) return;
  Timer t{p.st.decide_seconds};
  const at::Tensor idx = at::tensor(s.decide, at::kLong);
  const at::Tensor w = normalize_weights(p.policy.combine(all_feats.index_select(1, idx), ctx), n, K,
                                         "policy " + p.policy.name());
  const float* wp = w.data_ptr<float>();
  for (int64_t j = 0; j < n; ++j) {
    Row& row = p.rows[static_cast<size_t>(s.decide[static_cast<size_t>(j)])];
    std::copy(wp + j * K, wp + (j + 1) * K, row.weights.begin());
    p.out[row.prompt].decisions.push_back(row.weights);
  }
}

std::vector<int32_t> DecodeSession::exchange_and_mix(Pass& p, const Step& s) {
  const int K = comm_.size();
  std::vector<float> wrows;
  wrows.reserve(static_cast<size_t>(s.R * K));
  for (const Row& row : p.rows) wrows.insert(wrows.end(), row.weights.begin(), row.weights.end());
  const at::Tensor weights = at::tensor(wrows, at::kFloat).view({s.R, K}).to(exchange_device_);
  return options_.mode == MixMode::sparse ? mix_sparse(p, s, weights) : mix_dense(p, s, weights);
}

namespace {

// The shared uniforms of a sampling step: stream "ensemble.sample" (prompt, tokens generated).
at::Tensor step_uniforms(const std::vector<Row>& rows, uint64_t seed, const at::Device& device) {
  std::vector<double> u;
  for (const Row& r : rows) {
    u.push_back(seed_uniform(derive_seed(seed, "ensemble.sample", {r.prompt, static_cast<uint64_t>(r.generated)})));
  }
  return at::tensor(u, at::kDouble).to(device);
}

std::vector<int32_t> host_ids(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU).to(at::kInt).contiguous();
  return std::vector<int32_t>(c.data_ptr<int32_t>(), c.data_ptr<int32_t>() + c.numel());
}

}  // namespace

std::vector<int32_t> DecodeSession::mix_sparse(Pass& p, const Step& s, const at::Tensor& weights) {
  const int64_t k = std::min<int64_t>(options_.top_k, view_.vocab_size);
  const at::Tensor masked = p.logits.masked_fill(view_.banned.unsqueeze(0), -std::numeric_limits<float>::infinity());
  const kernels::TopKUnion mine = kernels::softmax_topk_union(masked, view_.union_map, k);
  const at::Tensor all_ids = gather(mine.ids, p);      // [K, R, k]
  const at::Tensor all_probs = gather(mine.probs, p);  // [K, R, k]
  if (options_.temperature > 0) {
    const at::Tensor u = step_uniforms(p.rows, options_.seed, exchange_device_);
    return host_ids(kernels::mix_sparse_sample(all_ids, all_probs, weights, options_.temperature, u).token);
  }
  (void)s;
  return host_ids(kernels::mix_sparse_argmax(all_ids, all_probs, weights).token);
}

std::vector<int32_t> DecodeSession::mix_dense(Pass& p, const Step& s, const at::Tensor& weights) {
  at::Tensor q = s.probs.masked_fill(view_.banned.unsqueeze(0), 0.0f);
  if (options_.mode == MixMode::full) {
    if (view_.twin_canon.numel() > 0) {  // a union token's probability: its most probable spelling
      q.index_copy_(1, view_.twin_canon,
                    at::maximum(q.index_select(1, view_.twin_canon), q.index_select(1, view_.twin_other)));
    }
    q = at::where(view_.read_valid.unsqueeze(0), q.index_select(1, view_.read_ids), at::zeros({}, q.options()));
  }
  const at::Tensor all = gather(q, p);  // [K, R, V] (dense) or [K, R, U] (full)
  const at::Tensor tok =
      options_.temperature > 0
          ? kernels::mix_dense_sample(all, weights, options_.temperature,
                                      step_uniforms(p.rows, options_.seed, exchange_device_)).token
          : kernels::mix_dense_argmax(all, weights).token;
  std::vector<int32_t> chosen = host_ids(tok);
  if (options_.mode == MixMode::dense) {  // member ids -> union ids (all members share the vocabulary)
    p.dense_ids = chosen;
    for (int32_t& c : chosen) c = view_.to_union[static_cast<size_t>(c)];
  }
  return chosen;
}

// The ids member m appends for each row's chosen union token (empty: EOS).
void DecodeSession::append(Pass& p, const Step& s, const std::vector<int32_t>& chosen) {
  CausalLM& model = *member_.model;
  const int m = comm_.rank();
  // Twin spellings: the member's most probable one, read in one gather for all rows.
  std::vector<int64_t> twin_rows, twin_ids;
  for (int64_t r = 0; r < s.R; ++r) {
    if (options_.mode == MixMode::dense) break;
    if (auto tw = view_.twins.find(chosen[static_cast<size_t>(r)]); tw != view_.twins.end()) {
      for (int32_t id : tw->second) {
        twin_rows.push_back(r);
        twin_ids.push_back(id);
      }
    }
  }
  at::Tensor twin_probs;
  if (!twin_rows.empty()) {
    twin_probs = s.probs.index({at::tensor(twin_rows, at::kLong).to(model_device_),
                                at::tensor(twin_ids, at::kLong).to(model_device_)}).to(at::kCPU).contiguous();
  }
  size_t tw_at = 0;
  std::vector<Row> next_rows;
  std::vector<int64_t> step_slots;
  std::vector<int32_t> step_ids;
  for (int64_t r = 0; r < s.R; ++r) {
    Row& row = p.rows[static_cast<size_t>(r)];
    EnsembleResult& res = p.out[row.prompt];
    const int32_t u = chosen[static_cast<size_t>(r)];
    ++p.st.tokens;
    bool done = u == vocab_.eos();
    if (done) {
      res.stopped_at_eos = true;
    } else {
      res.tokens.push_back(u);
      res.text += vocab_.bytes(u);
      ++row.generated;
      std::vector<int32_t> app;
      if (options_.mode == MixMode::dense) {
        app = {p.dense_ids[static_cast<size_t>(r)]};
      } else if (auto tw = view_.twins.find(u); tw != view_.twins.end()) {
        int32_t best_id = tw->second.front();
        float best_p = -1;
        for (int32_t id : tw->second) {
          const float q = twin_probs.data_ptr<float>()[tw_at++];
          if (q > best_p) {
            best_p = q;
            best_id = id;
          }
        }
        app = {best_id};
      } else {
        app = vocab_.append_ids(m, u);
      }
      RLAE_CHECK(!app.empty() && app[0] >= 0, member_.dir, ": cannot spell the chosen token '", vocab_.bytes(u),
                 "' with its tokenizer (no byte fallback for these bytes)");
      res.member_ids.insert(res.member_ids.end(), app.begin(), app.end());
      done = row.generated >= options_.max_new_tokens;
      if (!done) {
        if (app.size() > 1) {
          Timer t{p.st.forward_seconds};
          model.append(row.slot, std::vector<int32_t>(app.begin(), app.end() - 1));
        }
        step_slots.push_back(row.slot);
        step_ids.push_back(app.back());
      }
    }
    if (done) {
      model.reset(row.slot);
      p.free_slots.push_back(row.slot);
      ++p.finished;
    } else {
      next_rows.push_back(std::move(row));
    }
  }
  p.rows = std::move(next_rows);
  p.logits = at::Tensor();
  p.hidden = at::Tensor();
  if (!step_slots.empty()) {
    Timer t{p.st.forward_seconds};
    const LMOutput o = model.step(step_slots, step_ids);
    p.logits = o.logits;
    p.hidden = o.hidden;
  }
}

}  // namespace rlae
