#include "actors/policy.h"

#include <ATen/ATen.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "common/check.h"
#include "common/options.h"

namespace rlae {

at::Tensor agent_observation(const at::Tensor& hidden, const at::Tensor& context, const at::Tensor& entropy,
                             const at::Tensor& top1, const at::Tensor& margin, const std::vector<int64_t>& span_index) {
  const int64_t rows = hidden.size(0);
  RLAE_ASSERT(static_cast<int64_t>(span_index.size()) == rows, "agent_observation: ", span_index.size(),
              " span indices for ", rows, " rows");
  const at::Tensor span = at::tensor(span_index, at::kLong).to(at::kFloat).div(32.0).unsqueeze(1);
  RLAE_ASSERT(context.sizes() == hidden.sizes(), "agent_observation: context ", context.sizes(), " but hidden ",
              hidden.sizes());
  return at::cat({hidden.to(at::kFloat), context.to(at::kFloat), entropy.unsqueeze(1), top1.unsqueeze(1),
                  margin.unsqueeze(1), span},
                 1);
}

at::Tensor WeightPolicy::local(int, const MemberObs& obs, const DecisionContext&) {
  return at::zeros({obs.entropy.size(0)}, at::kFloat);
}

at::Tensor normalize_weights(const at::Tensor& w_in, int64_t rows, int64_t K, const std::string& who) {
  RLAE_CHECK(w_in.dim() == 2 && w_in.size(0) == rows && w_in.size(1) == K, who, ": weights must be [", rows,
             ", ", K, "], got ", w_in.sizes());
  const at::Tensor w = w_in.to(at::kFloat).contiguous();
  RLAE_CHECK(at::isfinite(w).all().item<bool>(), who, ": weights contain NaN or infinity");
  RLAE_CHECK(w.ge(0).all().item<bool>(), who, ": weights must be >= 0");
  const at::Tensor sum = w.sum(1, /*keepdim=*/true);
  RLAE_CHECK(sum.gt(0).all().item<bool>(), who, ": a row of weights sums to 0");
  return w / sum;
}

namespace {

std::vector<double> parse_weights(const std::string& text, size_t K, const std::string& who) {
  std::vector<double> w;
  for (const std::string& item : split_list(text, who)) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    RLAE_CHECK(used == item.size(), who, ": '", item, "' is not a number");
    RLAE_CHECK(std::isfinite(v) && v >= 0, who, ": weight ", item, " must be finite and >= 0");
    w.push_back(v);
  }
  RLAE_CHECK(w.size() == K, who, ": ", w.size(), " weights for ", K, " members");
  double sum = 0;
  for (double v : w) sum += v;
  RLAE_CHECK(sum > 0, who, ": weights sum to 0");
  return w;
}

int member_index(const std::string& key, const std::vector<std::string>& names, const std::string& who) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == key) return static_cast<int>(i);
  }
  // A member directory's last component ("addsub" for experiments/members/addsub/).
  int by_base = -1;
  for (size_t i = 0; i < names.size(); ++i) {
    std::string n = names[i];
    while (n.size() > 1 && n.back() == '/') n.pop_back();
    const auto slash = n.rfind('/');
    if ((slash == std::string::npos ? n : n.substr(slash + 1)) != key) continue;
    RLAE_CHECK(by_base < 0, who, ": two members are named '", key, "'; give the whole path or the index");
    by_base = static_cast<int>(i);
  }
  if (by_base >= 0) return by_base;
  bool digits = !key.empty();
  for (char c : key) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (digits) {
    const int i = key.size() <= 9 ? std::stoi(key) : -1;  // no std::out_of_range for a long number
    RLAE_CHECK(i >= 0 && i < static_cast<int>(names.size()), who, ": member index ", i, " outside [0, ",
               names.size(), ")");
    return i;
  }
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  RLAE_FAIL(who, ": no member named '", key, "' (members: ", known, ")");
}

at::Tensor rows_of(const std::vector<double>& w, int64_t rows) {
  at::Tensor t = at::tensor(w, at::kDouble).to(at::kFloat);
  return t.unsqueeze(0).expand({rows, static_cast<int64_t>(w.size())}).contiguous();
}

class FixedPolicy final : public WeightPolicy {
 public:
  FixedPolicy(std::string name, std::vector<double> w) : name_(std::move(name)), w_(std::move(w)) {}
  std::string name() const override { return name_; }
  at::Tensor combine(const at::Tensor& feats, const DecisionContext&) override { return rows_of(w_, feats.size(1)); }

 private:
  std::string name_;
  std::vector<double> w_;
};

// PackLLM-sim: weights = softmax over members of -NLL(prompt) / temperature.
class PackLlmPolicy final : public WeightPolicy {
 public:
  explicit PackLlmPolicy(double temperature) : t_(temperature) {}
  std::string name() const override { return "packllm:" + std::to_string(t_); }
  bool needs_prompt_nll() const override { return true; }
  at::Tensor combine(const at::Tensor& feats, const DecisionContext&) override {
    const at::Tensor nll = feats.select(2, kPromptNll).to(at::kDouble).t();  // [rows, K]
    return at::softmax(-nll / t_, 1).to(at::kFloat);
  }

 private:
  double t_;
};

// GaC-threshold: the primary member alone while its top-1 probability is at
// least the threshold; all members uniformly at the uncertain tokens.
class GacThresholdPolicy final : public WeightPolicy {
 public:
  GacThresholdPolicy(double threshold, int primary) : th_(threshold), primary_(primary) {}
  std::string name() const override { return "gac-threshold:" + std::to_string(th_); }
  bool every_token() const override { return true; }
  at::Tensor combine(const at::Tensor& feats, const DecisionContext& ctx) override {
    const int64_t rows = feats.size(1), K = ctx.num_members;
    const at::Tensor confident = feats.select(0, primary_).select(1, kTop1).ge(th_).unsqueeze(1);  // [rows, 1]
    at::Tensor alone = at::zeros({rows, K});
    alone.select(1, primary_).fill_(1.0f);
    return at::where(confident, alone, at::full({rows, K}, 1.0f / K));
  }

 private:
  double th_;
  int primary_;
};

// A scripted schedule. Each line: FAMILY TRIGGER w1,w2,...   (# comments)
//   FAMILY   a task family or * for any
//   TRIGGER  span:N (from span N on) or step:N (from the N-th finished solution step on)
// For a row, the matching line with the largest trigger not beyond the row's
// position wins; a family-specific line beats * at the same trigger.
class SchedulePolicy final : public WeightPolicy {
 public:
  SchedulePolicy(const std::string& path, size_t K) : path_(path) {
    std::ifstream in(path);
    RLAE_CHECK(in.good(), path, ": cannot read schedule");
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      const auto hash = line.find('#');
      if (hash != std::string::npos) line.resize(hash);
      std::istringstream ls(line);
      Entry e;
      std::string trigger, weights;
      if (!(ls >> e.family)) continue;
      const std::string where = path + ":" + std::to_string(lineno);
      RLAE_CHECK(static_cast<bool>(ls >> trigger >> weights), where,
                 ": expected 'FAMILY span:N|step:N w1,w2,...'");
      const auto colon = trigger.find(':');
      RLAE_CHECK(colon != std::string::npos, where, ": trigger '", trigger, "' is not span:N or step:N");
      const std::string kind = trigger.substr(0, colon);
      RLAE_CHECK(kind == "span" || kind == "step", where, ": trigger '", trigger, "' is not span:N or step:N");
      e.by_step = kind == "step";
      try {
        e.from = std::stoll(trigger.substr(colon + 1));
      } catch (const std::exception&) {
        RLAE_FAIL(where, ": trigger '", trigger, "' needs a number");
      }
      RLAE_CHECK(e.from >= 0, where, ": trigger must be >= 0");
      e.weights = parse_weights(weights, K, where);
      entries_.push_back(std::move(e));
    }
    RLAE_CHECK(!entries_.empty(), path, ": schedule has no entries");
  }
  std::string name() const override { return "schedule:" + path_; }
  at::Tensor combine(const at::Tensor& feats, const DecisionContext& ctx) override {
    const int64_t rows = feats.size(1);
    at::Tensor out = at::empty({rows, ctx.num_members});
    for (int64_t r = 0; r < rows; ++r) {
      const Entry* best = nullptr;
      for (const Entry& e : entries_) {
        if (e.family != "*" && e.family != ctx.tasks[r]) continue;
        const int64_t pos = e.by_step ? ctx.solution_step[r] : ctx.span_index[r];
        if (e.from > pos) continue;
        if (best == nullptr || e.from > best->from || (e.from == best->from && best->family == "*")) best = &e;
      }
      RLAE_CHECK(best != nullptr, path_, ": no schedule line covers task '", ctx.tasks[r], "' at span ",
                 ctx.span_index[r], " (add a '* span:0 ...' line)");
      for (int k = 0; k < ctx.num_members; ++k) out[r][k] = best->weights[k];
    }
    return out;
  }

 private:
  struct Entry {
    std::string family;
    bool by_step = false;
    int64_t from = 0;
    std::vector<double> weights;
  };
  std::string path_;
  std::vector<Entry> entries_;
};

}  // namespace

std::unique_ptr<WeightPolicy> make_policy(const std::string& spec, const std::vector<std::string>& names) {
  const size_t K = names.size();
  RLAE_CHECK(K >= 1, "policy: no members");
  const std::string who = "--policy " + spec;
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  const std::string arg = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (kind == "uniform") {
    RLAE_CHECK(arg.empty(), who, ": uniform takes no argument");
    return std::make_unique<FixedPolicy>("uniform", std::vector<double>(K, 1.0 / K));
  }
  if (kind == "weights") return std::make_unique<FixedPolicy>(spec, parse_weights(arg, K, who));
  if (kind == "single") {
    std::vector<double> w(K, 0.0);
    w[member_index(arg, names, who)] = 1.0;
    return std::make_unique<FixedPolicy>(spec, w);
  }
  if (kind == "packllm") {
    double t = 1.0;
    if (!arg.empty()) {
      try {
        t = std::stod(arg);
      } catch (const std::exception&) {
        t = -1;
      }
    }
    RLAE_CHECK(t > 0 && std::isfinite(t), who, ": temperature must be a number > 0");
    return std::make_unique<PackLlmPolicy>(t);
  }
  if (kind == "gac-threshold") {
    const auto c2 = arg.find(':');
    double th = -1;
    try {
      th = std::stod(arg.substr(0, c2));
    } catch (const std::exception&) {
    }
    RLAE_CHECK(th >= 0 && th <= 1, who, ": threshold must be a probability in [0, 1]");
    const int primary = c2 == std::string::npos ? 0 : member_index(arg.substr(c2 + 1), names, who);
    return std::make_unique<GacThresholdPolicy>(th, primary);
  }
  if (kind == "schedule") {
    RLAE_CHECK(!arg.empty(), who, ": schedule needs a FILE");
    return std::make_unique<SchedulePolicy>(arg, K);
  }
  RLAE_FAIL(who, ": unknown policy (expected uniform | weights:W,... | single:NAME | packllm[:T] | "
                 "gac-threshold:P[:PRIMARY] | schedule:FILE)");
}

}  // namespace rlae
