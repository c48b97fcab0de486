#include "actors/ensemble.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/check.h"
#include "kernels/mixture.h"
#include "kernels/topk_union.h"

namespace rlae {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Fixed-point scale of the dense and full-union all-reduce: weighted
// probabilities become exact integers, so the sum is the same whatever order a
// backend adds them in (and there is no overflow: weights sum to 1).
constexpr double kFixedPoint = 1099511627776.0;  // 2^40

// One row of the batch: a prompt being decoded in one slot.
struct Row {
  size_t prompt = 0;
  int64_t slot = 0;
  int64_t generated = 0;   // tokens chosen so far (EOS excluded)
  std::vector<float> weights;
  float prompt_nll = 0;
  at::Tensor context;  // [H] the member's final hidden state averaged over the prompt
};

// argmax over an int64 [rows, V] tensor, smallest id on ties.
at::Tensor argmax_first(const at::Tensor& q) {
  const at::Tensor best = std::get<0>(q.max(1, /*keepdim=*/true));
  const at::Tensor ids = at::arange(q.size(1), at::kLong).unsqueeze(0);
  return at::where(q.eq(best), ids, at::full({}, q.size(1), at::kLong)).amin(1);
}

// A uniform draw in [0, 1) from (seed, prompt, step): the same on every rank.
double shared_uniform(uint64_t seed, uint64_t prompt, uint64_t step) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ULL ^ (prompt * 0xBF58476D1CE4E5B9ULL) ^ (step * 0x94D049BB133111EBULL);
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
}

// Draws from scores^(1/T) over candidates in a fixed order (identical on every rank).
int64_t sample_candidates(const std::vector<std::pair<int64_t, double>>& cand, double temperature, double u) {
  double best = 0;
  for (const auto& c : cand) best = std::max(best, c.second);
  if (best <= 0) return cand.front().first;
  std::vector<double> w(cand.size());
  double total = 0;
  for (size_t i = 0; i < cand.size(); ++i) {
    w[i] = cand[i].second > 0 ? std::exp(std::log(cand[i].second / best) / temperature) : 0.0;
    total += w[i];
  }
  double acc = 0;
  for (size_t i = 0; i < cand.size(); ++i) {
    acc += w[i];
    if (u * total < acc) return cand[i].first;
  }
  return cand.back().first;
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
  const at::Tensor tgt = at::tensor(next, at::kLong).unsqueeze(1);
  return -logp.gather(1, tgt).mean().item<float>();
}

}  // namespace

MixMode parse_mix_mode(const std::string& name) {
  if (name == "sparse") return MixMode::sparse;
  if (name == "dense") return MixMode::dense;
  if (name == "full") return MixMode::full;
  RLAE_FAIL("mix mode '", name, "' is not one of sparse|dense|full");
}

std::vector<VocabMember> vocab_members(const std::vector<Member>& members) {
  std::vector<VocabMember> out;
  for (const Member& m : members) {
    std::vector<int32_t> eos;
    for (int64_t id : m.model->config().eos_token_ids) eos.push_back(static_cast<int32_t>(id));
    out.push_back({m.tokenizer, eos});
  }
  return out;
}

std::vector<EnsembleResult> ensemble_decode(Member& member, const UnionVocab& vocab, Communicator& comm,
                                            WeightPolicy& policy, const std::vector<EnsemblePrompt>& prompts,
                                            const EnsembleOptions& opt, EnsembleStats* stats,
                                            const EnsembleProgress& progress) {
  c10::InferenceMode guard;
  const auto t_start = Clock::now();
  const int m = comm.rank();
  const int K = comm.size();
  CausalLM& model = *member.model;
  const Tokenizer& tok = member.tokenizer;
  RLAE_CHECK(vocab.num_members() == K, "ensemble: the union vocabulary has ", vocab.num_members(),
             " members but the group has ", K);
  RLAE_CHECK(opt.temperature >= 0 && std::isfinite(opt.temperature), "ensemble: temperature must be >= 0, got ",
             opt.temperature);
  RLAE_CHECK(opt.span >= 1 && opt.max_new_tokens >= 1 && opt.top_k >= 1, "ensemble: span, max_new_tokens and "
             "top_k must be >= 1 (got ", opt.span, ", ", opt.max_new_tokens, ", ", opt.top_k, ")");
  const int64_t V = model.config().vocab_size;
  const auto& to_union = vocab.member_to_union(m);

  // The member's id -> union id map over the model's whole vocabulary (ids the
  // tokenizer does not know, and special tokens other than EOS, are never chosen).
  std::vector<int32_t> map_v(static_cast<size_t>(V), vocab.eos());
  std::vector<uint8_t> banned_v(static_cast<size_t>(V), 0);
  for (int64_t id = 0; id < V; ++id) {
    const int32_t u = id < static_cast<int64_t>(to_union.size()) ? to_union[static_cast<size_t>(id)] : -1;
    if (u < 0 || (vocab.is_special(u) && u != vocab.eos())) {
      banned_v[static_cast<size_t>(id)] = 1;
    } else {
      map_v[static_cast<size_t>(id)] = u;
    }
  }
  const at::Tensor banned = at::tensor(banned_v, at::kByte).to(at::kBool);
  const at::Tensor union_map = at::tensor(map_v, at::kInt);
  // Union tokens this member spells with several ids (a character and its
  // <0xNN> byte twin): the member's probability of the token is that of its most
  // probable spelling, and that is the id it appends (so one-hot weights give
  // exactly the member alone).
  std::unordered_map<int32_t, std::vector<int32_t>> twins;
  {
    std::unordered_map<int32_t, std::vector<int32_t>> by_union;
    for (int64_t id = 0; id < V; ++id) {
      if (!banned_v[static_cast<size_t>(id)]) by_union[map_v[static_cast<size_t>(id)]].push_back(static_cast<int32_t>(id));
    }
    for (auto& [u, ids] : by_union) {
      if (ids.size() > 1) twins.emplace(u, std::move(ids));
    }
  }
  std::vector<int64_t> twin_canon, twin_other;  // full mode: fold twins into the canonical id by max
  for (const auto& [u, ids] : twins) {
    const int32_t canon = vocab.union_to_member(m)[static_cast<size_t>(u)];
    for (int32_t id : ids) {
      if (id != canon) {
        twin_canon.push_back(canon);
        twin_other.push_back(id);
      }
    }
  }
  const at::Tensor read_ids = at::tensor(vocab.read_ids(m), at::kLong);  // [U]
  const at::Tensor read_valid = read_ids.ge(0);
  const at::Tensor read_clamped = read_ids.clamp_min(0);
  if (opt.mode == MixMode::dense) {
    // Dense needs one shared vocabulary: every member's id i is the same union token.
    int64_t sizes[1] = {V};
    std::vector<int64_t> all(static_cast<size_t>(K));
    comm.all_gather(sizes, all.data(), 1, DType::i64);
    for (int k = 0; k < K; ++k) {
      RLAE_CHECK(all[static_cast<size_t>(k)] == V, "ensemble --mix dense: member ", k, " has a vocabulary of ",
                 all[static_cast<size_t>(k)], " but member ", m, " has ", V, "; use --mix sparse");
    }
    for (int k = 0; k < K; ++k) {
      RLAE_CHECK(vocab.member_to_union(k) == to_union, "ensemble --mix dense: member ", k,
                 " tokenizes differently from member ", m, "; dense mixing needs one shared tokenizer "
                 "(use --mix sparse)");
    }
  }

  // Agent observation widths of every member (policies that want observations).
  std::vector<int64_t> obs_dims;
  int64_t obs_width = 0;
  if (policy.wants_observations()) {
    int64_t mine = agent_observation_width(model.config().hidden_size);
    obs_dims.assign(static_cast<size_t>(K), 0);
    comm.all_gather(&mine, obs_dims.data(), 1, DType::i64);
    obs_width = *std::max_element(obs_dims.begin(), obs_dims.end());
  }

  std::vector<EnsembleResult> out(prompts.size());
  std::vector<std::vector<int32_t>> prompt_ids(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    prompt_ids[i] = tok.encode(prompts[i].text, opt.add_special_tokens);
    RLAE_CHECK(!prompt_ids[i].empty(), "ensemble: prompt ", i, " encodes to no tokens for ", member.dir);
  }
  EnsembleStats st;
  std::deque<size_t> pending;
  for (size_t i = 0; i < prompts.size(); ++i) pending.push_back(i);
  std::vector<int64_t> free_slots;
  for (int64_t s = model.num_slots() - 1; s >= 0; --s) free_slots.push_back(s);
  std::vector<Row> rows;
  at::Tensor logits, hidden;  // [rows, V], [rows, H] for `rows`, in order
  size_t finished = 0;

  auto forward = [&](auto&& fn) {
    const auto t0 = Clock::now();
    LMOutput o = fn();
    st.forward_seconds += since(t0);
    return o;
  };

  while (!pending.empty() || !rows.empty()) {
    // New prompts into free slots: the same assignment on every rank.
    std::vector<Row> fresh;
    std::vector<int64_t> slots;
    std::vector<std::vector<int32_t>> ids;
    while (!pending.empty() && !free_slots.empty()) {
      Row r;
      r.prompt = pending.front();
      r.slot = free_slots.back();
      r.weights.assign(static_cast<size_t>(K), 1.0f / K);
      pending.pop_front();
      free_slots.pop_back();
      RLAE_CHECK(static_cast<int64_t>(prompt_ids[r.prompt].size()) + opt.max_new_tokens <= model.max_seq_len(),
                 "ensemble: prompt ", r.prompt, " (", prompt_ids[r.prompt].size(), " tokens) plus ",
                 opt.max_new_tokens, " new tokens exceeds ", member.dir, "'s max_seq_len ", model.max_seq_len());
      if (policy.needs_prompt_nll()) {
        const auto t0 = Clock::now();
        r.prompt_nll = prompt_nll(model, prompt_ids[r.prompt]);
        st.forward_seconds += since(t0);
      }
      out[r.prompt].member_ids = prompt_ids[r.prompt];
      slots.push_back(r.slot);
      ids.push_back(prompt_ids[r.prompt]);
      fresh.push_back(std::move(r));
    }
    if (!fresh.empty()) {
      const LMOutput o = forward([&] { return model.prefill(slots, ids); });
      logits = logits.defined() && !rows.empty() ? at::cat({logits, o.logits}) : o.logits;
      hidden = hidden.defined() && !rows.empty() ? at::cat({hidden, o.hidden}) : o.hidden;
      for (size_t j = 0; j < fresh.size(); ++j) {
        fresh[j].context = o.mean_hidden[static_cast<int64_t>(j)];
        rows.push_back(std::move(fresh[j]));
      }
    }
    const int64_t R = static_cast<int64_t>(rows.size());
    if (R == 0) break;
    ++st.steps;

    // 1. Features and decisions.
    const at::Tensor probs = at::softmax(logits, 1);                       // [R, V]
    const auto top2 = probs.topk(std::min<int64_t>(2, V), 1);
    const at::Tensor top1 = std::get<0>(top2).select(1, 0);
    const at::Tensor margin = V > 1 ? top1 - std::get<0>(top2).select(1, 1) : top1;
    const at::Tensor entropy = -(probs * at::log_softmax(logits, 1)).sum(1);
    std::vector<int64_t> decide;
    for (int64_t r = 0; r < R; ++r) {
      if (policy.every_token() || rows[static_cast<size_t>(r)].generated % opt.span == 0) decide.push_back(r);
    }
    std::vector<float> nll(static_cast<size_t>(R));
    for (int64_t r = 0; r < R; ++r) nll[static_cast<size_t>(r)] = rows[static_cast<size_t>(r)].prompt_nll;
    at::Tensor feats = at::zeros({R, kNumFeatures}, at::kFloat);
    feats.select(1, kEntropy).copy_(entropy);
    feats.select(1, kTop1).copy_(top1);
    feats.select(1, kMargin).copy_(margin);
    feats.select(1, kPromptNll).copy_(at::tensor(nll, at::kFloat));
    DecisionContext ctx;
    ctx.num_members = K;
    if (!decide.empty()) {
      for (int64_t r : decide) {
        const Row& row = rows[static_cast<size_t>(r)];
        ctx.prompts.push_back(row.prompt);
        ctx.span_index.push_back(row.generated / opt.span);
        ctx.solution_step.push_back(count_sentences(out[row.prompt].text));
        ctx.tasks.push_back(prompts[row.prompt].task);
      }
      const at::Tensor idx = at::tensor(decide, at::kLong);
      std::vector<at::Tensor> context;
      for (int64_t r : decide) context.push_back(rows[static_cast<size_t>(r)].context);
      MemberObs obs{hidden.index_select(0, idx), at::stack(context), entropy.index_select(0, idx),
                    top1.index_select(0, idx), margin.index_select(0, idx)};
      const int64_t n = static_cast<int64_t>(decide.size());
      if (policy.wants_observations()) {
        const at::Tensor own = agent_observation(obs.hidden, obs.context, obs.entropy, obs.top1, obs.margin,
                                                 ctx.span_index);
        at::Tensor padded = at::zeros({n, obs_width}, at::kFloat);
        padded.narrow(1, 0, own.size(1)).copy_(own);
        ctx.observations = at::empty({K, n, obs_width}, at::kFloat);
        ctx.obs_dims = obs_dims;
        const auto t0 = Clock::now();
        comm.all_gather(padded.data_ptr<float>(), ctx.observations.data_ptr<float>(),
                        static_cast<size_t>(n * obs_width), DType::f32);
        st.exchange_seconds += since(t0);
      }
      const at::Tensor local = policy.local(m, obs, ctx).to(at::kFloat);
      const bool with_logp = local.dim() == 2 && local.size(1) == 2;
      RLAE_CHECK(local.size(0) == n && (local.dim() == 1 || with_logp), "policy ", policy.name(),
                 ": local() must return [", n, "] or [", n, ", 2], got ", local.sizes());
      feats.select(1, kLocal).index_copy_(0, idx, with_logp ? local.select(1, 0) : local);
      if (with_logp) feats.select(1, kLocalLogProb).index_copy_(0, idx, local.select(1, 1));
    }
    at::Tensor all_feats = at::empty({K, R, kNumFeatures}, at::kFloat);
    {
      const auto t0 = Clock::now();
      comm.all_gather(feats.data_ptr<float>(), all_feats.data_ptr<float>(), static_cast<size_t>(R * kNumFeatures),
                      DType::f32);
      st.exchange_seconds += since(t0);
    }
    if (!decide.empty()) {
      const at::Tensor idx = at::tensor(decide, at::kLong);
      const at::Tensor w = normalize_weights(policy.combine(all_feats.index_select(1, idx), ctx),
                                             static_cast<int64_t>(decide.size()), K, "policy " + policy.name());
      const float* wp = w.data_ptr<float>();
      for (size_t j = 0; j < decide.size(); ++j) {
        Row& row = rows[static_cast<size_t>(decide[j])];
        std::copy(wp + j * K, wp + (j + 1) * K, row.weights.begin());
        out[row.prompt].decisions.push_back(row.weights);
      }
    }
    std::vector<float> wrows;
    wrows.reserve(static_cast<size_t>(R * K));
    for (const Row& row : rows) wrows.insert(wrows.end(), row.weights.begin(), row.weights.end());
    const at::Tensor weights = at::tensor(wrows, at::kFloat).view({R, K});

    // 2. Mixture: the chosen token of every row, identical on every rank.
    std::vector<int32_t> chosen(static_cast<size_t>(R));
    std::vector<int32_t> dense_id(static_cast<size_t>(R), -1);  // dense mode: the member id itself
    if (opt.mode == MixMode::sparse) {
      const int64_t k = std::min<int64_t>(opt.top_k, V);
      const at::Tensor masked = logits.masked_fill(banned.unsqueeze(0), -std::numeric_limits<float>::infinity());
      const kernels::TopKUnion mine = kernels::softmax_topk_union(masked, union_map, k);
      at::Tensor all_ids = at::empty({K, R, k}, at::kInt);
      at::Tensor all_probs = at::empty({K, R, k}, at::kFloat);
      const auto t0 = Clock::now();
      comm.all_gather(mine.ids.contiguous().data_ptr<int32_t>(), all_ids.data_ptr<int32_t>(),
                      static_cast<size_t>(R * k), DType::i32);
      comm.all_gather(mine.probs.contiguous().data_ptr<float>(), all_probs.data_ptr<float>(),
                      static_cast<size_t>(R * k), DType::f32);
      st.exchange_seconds += since(t0);
      if (opt.temperature > 0) {
        // The merged candidates of each row: member-major first appearance, each
        // member's probability of a union id read once (as the merge kernel does).
        const auto ids_a = all_ids.accessor<int32_t, 3>();
        const auto probs_a = all_probs.accessor<float, 3>();
        for (int64_t r = 0; r < R; ++r) {
          std::vector<std::pair<int64_t, double>> cand;
          for (int64_t mm = 0; mm < K; ++mm) {
            for (int64_t j = 0; j < k; ++j) {
              const int64_t u = ids_a[mm][r][j];
              if (std::any_of(cand.begin(), cand.end(), [&](const auto& c) { return c.first == u; })) continue;
              double acc = 0;
              for (int64_t m2 = 0; m2 < K; ++m2) {
                for (int64_t j2 = 0; j2 < k; ++j2) {
                  if (ids_a[m2][r][j2] == u) {
                    acc += static_cast<double>(probs_a[m2][r][j2]) * rows[static_cast<size_t>(r)].weights[static_cast<size_t>(m2)];
                    break;
                  }
                }
              }
              cand.emplace_back(u, acc);
            }
          }
          const Row& row = rows[static_cast<size_t>(r)];
          chosen[static_cast<size_t>(r)] = static_cast<int32_t>(sample_candidates(
              cand, opt.temperature, shared_uniform(opt.seed, row.prompt, static_cast<uint64_t>(row.generated))));
        }
      } else {
        const at::Tensor tok_u = kernels::mix_sparse_argmax(all_ids, all_probs, weights).token.contiguous();
        const int64_t* tu = tok_u.data_ptr<int64_t>();
        for (int64_t r = 0; r < R; ++r) chosen[static_cast<size_t>(r)] = static_cast<int32_t>(tu[r]);
      }
    } else {
      at::Tensor p = probs.masked_fill(banned.unsqueeze(0), 0.0f);
      if (opt.mode == MixMode::full) {
        if (!twin_canon.empty()) {
          const at::Tensor canon = at::tensor(twin_canon, at::kLong), other = at::tensor(twin_other, at::kLong);
          p = p.clone();
          p.index_copy_(1, canon, at::maximum(p.index_select(1, canon), p.index_select(1, other)));
        }
        p = at::where(read_valid.unsqueeze(0), p.index_select(1, read_clamped), at::zeros({}, p.options()));
      }
      at::Tensor q = (p.to(at::kDouble) * weights.select(1, m).to(at::kDouble).unsqueeze(1) * kFixedPoint)
                         .round()
                         .to(at::kLong)
                         .contiguous();
      const auto t0 = Clock::now();
      comm.all_reduce_sum(q.data_ptr<int64_t>(), static_cast<size_t>(q.numel()), DType::i64);
      st.exchange_seconds += since(t0);
      const at::Tensor best = argmax_first(q).contiguous();
      const auto qa = q.accessor<int64_t, 2>();
      for (int64_t r = 0; r < R; ++r) {
        int64_t b = best.data_ptr<int64_t>()[r];
        if (opt.temperature > 0) {
          std::vector<std::pair<int64_t, double>> cand;
          for (int64_t v = 0; v < q.size(1); ++v) {
            if (qa[r][v] > 0) cand.emplace_back(v, static_cast<double>(qa[r][v]));
          }
          const Row& row = rows[static_cast<size_t>(r)];
          if (!cand.empty()) {
            b = sample_candidates(cand, opt.temperature,
                                  shared_uniform(opt.seed, row.prompt, static_cast<uint64_t>(row.generated)));
          }
        }
        chosen[static_cast<size_t>(r)] =
            opt.mode == MixMode::full ? static_cast<int32_t>(b) : map_v[static_cast<size_t>(b)];
        if (opt.mode == MixMode::dense) dense_id[static_cast<size_t>(r)] = static_cast<int32_t>(b);
      }
    }

    // 3. Append the chosen token; finish rows at EOS or the length limit.
    std::vector<Row> next_rows;
    std::vector<int64_t> step_slots, keep;
    std::vector<int32_t> step_ids;
    for (int64_t r = 0; r < R; ++r) {
      Row& row = rows[static_cast<size_t>(r)];
      EnsembleResult& res = out[row.prompt];
      const int32_t u = chosen[static_cast<size_t>(r)];
      ++st.tokens;
      bool done = false;
      if (u == vocab.eos()) {
        res.stopped_at_eos = true;
        done = true;
      } else {
        res.tokens.push_back(u);
        res.text += vocab.bytes(u);
        ++row.generated;
        std::vector<int32_t> app;
        if (opt.mode == MixMode::dense) {
          app = {dense_id[static_cast<size_t>(r)]};
        } else if (auto tw = twins.find(u); tw != twins.end()) {
          int32_t best_id = tw->second.front();
          for (int32_t id : tw->second) {
            if (probs[r][id].item<float>() > probs[r][best_id].item<float>()) best_id = id;
          }
          app = {best_id};
        } else {
          app = vocab.append_ids(m, u);
        }
        RLAE_CHECK(!app.empty() && app[0] >= 0, member.dir, ": cannot spell the chosen token '", vocab.bytes(u),
                   "' with its tokenizer (no byte fallback for these bytes)");
        res.member_ids.insert(res.member_ids.end(), app.begin(), app.end());
        done = row.generated >= opt.max_new_tokens;
        if (!done) {
          if (app.size() > 1) {
            forward([&] { return model.append(row.slot, std::vector<int32_t>(app.begin(), app.end() - 1)); });
          }
          step_slots.push_back(row.slot);
          step_ids.push_back(app.back());
          keep.push_back(r);
        }
      }
      if (done) {
        model.reset(row.slot);
        free_slots.push_back(row.slot);
        ++finished;
      } else {
        next_rows.push_back(std::move(row));
      }
    }
    if (!step_slots.empty()) {
      const LMOutput o = forward([&] { return model.step(step_slots, step_ids); });
      logits = o.logits;
      hidden = o.hidden;
    } else {
      logits = at::Tensor();
      hidden = at::Tensor();
    }
    rows = std::move(next_rows);
    if (progress) progress(finished, prompts.size());
  }
  st.seconds = since(t_start);
  if (stats != nullptr) *stats = st;
  return out;
}

std::vector<EnsembleResult> ensemble_decode_inprocess(std::vector<Member>& members, const UnionVocab& vocab,
                                                      const PolicyFactory& make, const std::vector<EnsemblePrompt>& prompts,
                                                      const EnsembleOptions& options, std::vector<EnsembleStats>* stats,
                                                      const EnsembleProgress& progress,
                                                      std::vector<std::vector<EnsembleResult>>* per_member) {
  std::vector<std::unique_ptr<WeightPolicy>> owned;
  std::vector<WeightPolicy*> policies;
  for (size_t m = 0; m < members.size(); ++m) {
    owned.push_back(make(static_cast<int>(m)));
    policies.push_back(owned.back().get());
  }
  return ensemble_decode_inprocess(members, vocab, policies, prompts, options, stats, progress, per_member);
}

std::vector<EnsembleResult> ensemble_decode_inprocess(std::vector<Member>& members, const UnionVocab& vocab,
                                                      const std::vector<WeightPolicy*>& policies,
                                                      const std::vector<EnsemblePrompt>& prompts,
                                                      const EnsembleOptions& options, std::vector<EnsembleStats>* stats,
                                                      const EnsembleProgress& progress,
                                                      std::vector<std::vector<EnsembleResult>>* per_member) {
  const int K = static_cast<int>(members.size());
  RLAE_CHECK(K >= 1, "ensemble: no members");
  RLAE_CHECK(policies.size() == members.size(), "ensemble: ", policies.size(), " policies for ", K, " members");
  auto group = make_inprocess_group(K);
  std::vector<std::vector<EnsembleResult>> results(static_cast<size_t>(K));
  std::vector<EnsembleStats> st(static_cast<size_t>(K));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(K));
  std::vector<std::thread> threads;
  for (int m = 0; m < K; ++m) {
    threads.emplace_back([&, m] {
      try {
        results[static_cast<size_t>(m)] = ensemble_decode(members[static_cast<size_t>(m)], vocab,
                                                          *group[static_cast<size_t>(m)], *policies[static_cast<size_t>(m)],
                                                          prompts, options,
                                                          &st[static_cast<size_t>(m)], m == 0 ? progress : EnsembleProgress{});
      } catch (...) {
        errors[static_cast<size_t>(m)] = std::current_exception();
        std::string why = "member " + std::to_string(m) + " failed";
        try {
          throw;
        } catch (const std::exception& e) {
          why += std::string(": ") + e.what();
        } catch (...) {
        }
        group_abort(*group[static_cast<size_t>(m)], why);
      }
    });
  }
  for (auto& t : threads) t.join();
  // The first failure that is not the echo of another member's abort.
  std::exception_ptr first;
  for (int m = 0; m < K; ++m) {
    if (!errors[static_cast<size_t>(m)]) continue;
    try {
      std::rethrow_exception(errors[static_cast<size_t>(m)]);
    } catch (const std::exception& e) {
      if (std::string(e.what()).rfind("in-process group aborted", 0) != 0) std::rethrow_exception(errors[static_cast<size_t>(m)]);
      if (!first) first = errors[static_cast<size_t>(m)];
    }
  }
  if (first) std::rethrow_exception(first);
  for (int m = 1; m < K; ++m) {
    for (size_t i = 0; i < prompts.size(); ++i) {
      RLAE_ASSERT(results[static_cast<size_t>(m)][i].tokens == results[0][i].tokens,
                  "members disagree on the tokens of prompt ", i);
    }
  }
  if (stats != nullptr) *stats = st;
  std::vector<EnsembleResult> out = results[0];
  if (per_member != nullptr) *per_member = std::move(results);
  return out;
}

}  // namespace rlae
