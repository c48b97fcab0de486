#include "actors/model.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include "actors/llama_ops.h"
#include "common/check.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/safetensors.h"

namespace rlae {
namespace {

using at::indexing::Slice;

std::string shape_str(at::IntArrayRef shape) {
  std::ostringstream os;
  os << "[";
  for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

bool is_rope_buffer(const std::string& name) {
  const std::string suffix = "rotary_emb.inv_freq";
  return name.size() >= suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// ---------------------------------------------------------------------------
// Weight sources
// ---------------------------------------------------------------------------

bool is_float_type(at::ScalarType t) {
  return t == at::kFloat || t == at::kBFloat16 || t == at::kHalf || t == at::kDouble;
}

}  // namespace

class CausalLM::WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual std::vector<std::string> names() const = 0;
  virtual bool has(const std::string& name) const = 0;
  // Where a missing tensor was looked for / where a present one lives.
  virtual std::string where(const std::string& name) const = 0;
  // Checks dtype and shape against the spec before reading any data.
  virtual void check(const WeightSpec& spec) const = 0;
  virtual at::Tensor get(const std::string& name) const = 0;
};

namespace {

class CheckpointSource : public CausalLM::WeightSource {
 public:
  explicit CheckpointSource(SafetensorsCheckpoint ck) : ck_(std::move(ck)) {}
  std::vector<std::string> names() const override { return ck_.names(); }
  bool has(const std::string& name) const override { return ck_.contains(name); }
  std::string where(const std::string& name) const override {
    return ck_.contains(name) ? ck_.file_of(name) : ck_.source();
  }
  void check(const WeightSpec& spec) const override {
    const StTensorEntry& e = ck_.entry(spec.name);
    const bool float_dtype = e.dtype == StDtype::F32 || e.dtype == StDtype::BF16 ||
                             e.dtype == StDtype::F16 || e.dtype == StDtype::F64;
    RLAE_CHECK(float_dtype, ck_.file_of(spec.name), ": tensor '", spec.name, "' has dtype ",
               st_dtype_name(e.dtype), ", expected a floating-point dtype (F32, BF16 or F16)");
    RLAE_CHECK(e.shape == spec.shape, ck_.file_of(spec.name), ": tensor '", spec.name,
               "' has shape ", shape_str(e.shape), ", expected ", shape_str(spec.shape),
               " from config.json");
  }
  at::Tensor get(const std::string& name) const override { return ck_.get(name); }

 private:
  SafetensorsCheckpoint ck_;
};

class MapSource : public CausalLM::WeightSource {
 public:
  explicit MapSource(const std::vector<std::pair<std::string, at::Tensor>>& w) {
    for (const auto& [n, t] : w) {
      RLAE_CHECK(!map_.count(n), "model weights: tensor '", n, "' given twice");
      map_.emplace(n, t);
    }
  }
  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    for (const auto& kv : map_) out.push_back(kv.first);
    return out;
  }
  bool has(const std::string& name) const override { return map_.count(name) != 0; }
  std::string where(const std::string&) const override { return "model weights"; }
  void check(const WeightSpec& spec) const override {
    const at::Tensor& t = map_.at(spec.name);
    RLAE_CHECK(t.defined() && is_float_type(t.scalar_type()), "model weights: tensor '", spec.name,
               "' must be a defined floating-point tensor");
    RLAE_CHECK(t.sizes().vec() == spec.shape, "model weights: tensor '", spec.name, "' has shape ",
               shape_str(t.sizes()), ", expected ", shape_str(spec.shape));
  }
  at::Tensor get(const std::string& name) const override { return map_.at(name).detach(); }

 private:
  std::map<std::string, at::Tensor> map_;
};

}  // namespace

// ---------------------------------------------------------------------------
// Construction
// ---------------------------------------------------------------------------

CausalLM::CausalLM(ModelConfig config, ModelOptions options)
    : config_(std::move(config)), options_(std::move(options)) {
  const std::string& s = config_.source.empty() ? std::string("model") : config_.source;
  RLAE_CHECK(options_.dtype == at::kFloat || options_.dtype == at::kBFloat16 ||
                 options_.dtype == at::kHalf,
             s, ": compute dtype must be float32, bfloat16 or float16, got ", options_.dtype);
  RLAE_CHECK(!(options_.dtype == at::kHalf && options_.device.is_cpu()), s,
             ": float16 compute needs a CUDA device (LibTorch 1.13 has no float16 matmul on "
             "CPU); use float32 or bfloat16 on CPU");
  RLAE_CHECK(options_.num_slots > 0, s, ": num_slots must be positive, got ", options_.num_slots);
  RLAE_CHECK(options_.max_seq_len >= 0, s, ": max_seq_len must be >= 0");
  max_seq_len_ = options_.max_seq_len > 0 ? options_.max_seq_len : config_.max_position_embeddings;
  lengths_.assign(static_cast<std::size_t>(options_.num_slots), 0);
}

CausalLM::~CausalLM() = default;

std::unique_ptr<CausalLM> CausalLM::load(const std::string& dir, const ModelOptions& options) {
  c10::InferenceMode guard;
  ModelConfig config = ModelConfig::from_dir(dir);
  std::unique_ptr<CausalLM> lm(new CausalLM(std::move(config), options));
  lm->load_weights(CheckpointSource(SafetensorsCheckpoint::open(dir)));
  return lm;
}

std::unique_ptr<CausalLM> CausalLM::from_weights(
    const ModelConfig& config, const std::vector<std::pair<std::string, at::Tensor>>& weights,
    const ModelOptions& options) {
  c10::InferenceMode guard;
  config.validate();
  std::unique_ptr<CausalLM> lm(new CausalLM(config, options));
  lm->load_weights(MapSource(weights));
  return lm;
}

void CausalLM::load_weights(const WeightSource& src) {
  const auto specs = llama_weight_specs(config_);
  std::unordered_map<std::string, at::Tensor> w;
  std::set<std::string> used;
  for (const auto& spec : specs) {
    RLAE_CHECK(src.has(spec.name), src.where(spec.name), ": missing tensor '", spec.name, "' (",
               model_arch_class(config_.arch), ")");
    src.check(spec);
    w[spec.name] = src.get(spec.name).to(options_.device, options_.dtype).contiguous();
    used.insert(spec.name);
  }
  if (config_.tie_word_embeddings) used.insert("lm_head.weight");  // ignored when tied
  std::vector<std::string> unused;
  for (const auto& n : src.names())
    if (!used.count(n) && !is_rope_buffer(n)) unused.push_back(n);
  if (!unused.empty())
    RLAE_LOG(warn, src.where(unused[0]), ": ignoring ", unused.size(),
             " tensor(s) the model does not use, e.g. '", unused[0], "'");

  embed_ = w.at("model.embed_tokens.weight");
  norm_ = w.at("model.norm.weight");
  lm_head_ = config_.tie_word_embeddings ? embed_ : w.at("lm_head.weight");
  layers_.clear();
  for (int64_t i = 0; i < config_.num_layers; ++i)
    layers_.push_back(llama_make_layer(config_, i, [&](const std::string& n) { return w.at(n); }));
  inv_freq_ = rope_inv_freq(config_).to(options_.device);
}

std::vector<std::pair<std::string, at::Tensor>> CausalLM::init_weights(const ModelConfig& config,
                                                                       uint64_t seed, double std) {
  c10::InferenceMode guard;
  config.validate();
  at::Generator gen = at::detail::createCPUGenerator(seed);
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& spec : llama_weight_specs(config)) {
    at::Tensor t;
    switch (spec.kind) {
      case WeightKind::linear:
      case WeightKind::embedding:
        t = at::normal(0.0, std, spec.shape, gen, at::TensorOptions().dtype(at::kFloat));
        break;
      case WeightKind::norm: t = at::ones(spec.shape, at::kFloat); break;
      case WeightKind::bias: t = at::zeros(spec.shape, at::kFloat); break;
    }
    out.emplace_back(spec.name, t);
  }
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> CausalLM::named_weights() const {
  const int64_t I = config_.intermediate_size, D = config_.head_dim;
  const int64_t q_out = config_.num_heads * D, kv_out = config_.num_kv_heads * D;
  std::unordered_map<std::string, at::Tensor> w;
  w["model.embed_tokens.weight"] = embed_;
  w["model.norm.weight"] = norm_;
  if (!config_.tie_word_embeddings) w["lm_head.weight"] = lm_head_;
  for (int64_t i = 0; i < config_.num_layers; ++i) {
    const std::string p = llama_layer_prefix(i);
    const Layer& L = layers_[static_cast<std::size_t>(i)];
    w[p + "input_layernorm.weight"] = L.ln_attn;
    w[p + "post_attention_layernorm.weight"] = L.ln_mlp;
    w[p + "self_attn.q_proj.weight"] = L.w_qkv.narrow(0, 0, q_out);
    w[p + "self_attn.k_proj.weight"] = L.w_qkv.narrow(0, q_out, kv_out);
    w[p + "self_attn.v_proj.weight"] = L.w_qkv.narrow(0, q_out + kv_out, kv_out);
    if (L.b_qkv.defined()) {
      w[p + "self_attn.q_proj.bias"] = L.b_qkv.narrow(0, 0, q_out);
      w[p + "self_attn.k_proj.bias"] = L.b_qkv.narrow(0, q_out, kv_out);
      w[p + "self_attn.v_proj.bias"] = L.b_qkv.narrow(0, q_out + kv_out, kv_out);
    }
    w[p + "self_attn.o_proj.weight"] = L.w_o;
    if (L.b_o.defined()) w[p + "self_attn.o_proj.bias"] = L.b_o;
    w[p + "mlp.gate_proj.weight"] = L.w_gate_up.narrow(0, 0, I);
    w[p + "mlp.up_proj.weight"] = L.w_gate_up.narrow(0, I, I);
    w[p + "mlp.down_proj.weight"] = L.w_down;
    if (L.b_gate_up.defined()) {
      w[p + "mlp.gate_proj.bias"] = L.b_gate_up.narrow(0, 0, I);
      w[p + "mlp.up_proj.bias"] = L.b_gate_up.narrow(0, I, I);
      w[p + "mlp.down_proj.bias"] = L.b_down;
    }
  }
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& spec : llama_weight_specs(config_)) out.emplace_back(spec.name, w.at(spec.name));
  return out;
}

void CausalLM::save(const std::string& dir, at::ScalarType dtype) const {
  c10::InferenceMode guard;
  RLAE_CHECK(dtype == at::kFloat || dtype == at::kBFloat16 || dtype == at::kHalf, dir,
             ": models are saved as float32, bfloat16 or float16, not ", dtype);
  ::mkdir(dir.c_str(), 0755);  // may exist already; a failure shows when writing
  ModelConfig c = config_;
  c.torch_dtype = dtype == at::kFloat ? "float32" : dtype == at::kBFloat16 ? "bfloat16" : "float16";
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (auto& [n, t] : named_weights()) tensors.emplace_back(n, t.to(at::kCPU, dtype).contiguous());
  const std::string base = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  save_safetensors(base + "model.safetensors", tensors, {{"format", "pt"}});
  write_file_atomic(base + "config.json", c.to_json());
  write_file_atomic(base + "generation_config.json", c.generation_config_json());
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

int64_t CausalLM::length(int64_t slot) const {
  RLAE_CHECK(slot >= 0 && slot < options_.num_slots, "slot ", slot, " out of range [0, ",
             options_.num_slots, ")");
  return lengths_[static_cast<std::size_t>(slot)];
}

void CausalLM::reset(int64_t slot) {
  RLAE_CHECK(slot >= 0 && slot < options_.num_slots, "slot ", slot, " out of range [0, ",
             options_.num_slots, ")");
  lengths_[static_cast<std::size_t>(slot)] = 0;
}

void CausalLM::reset_all() { std::fill(lengths_.begin(), lengths_.end(), 0); }

void CausalLM::ensure_capacity(int64_t tokens) {
  if (tokens <= capacity_) return;
  const int64_t cap = std::min(max_seq_len_, std::max({tokens, 2 * capacity_, int64_t{64}}));
  const auto opts = at::TensorOptions().dtype(options_.dtype).device(options_.device);
  const std::vector<int64_t> shape = {options_.num_slots, config_.num_kv_heads, cap + 1,
                                      config_.head_dim};
  k_cache_.resize(static_cast<std::size_t>(config_.num_layers));
  v_cache_.resize(static_cast<std::size_t>(config_.num_layers));
  for (std::size_t l = 0; l < k_cache_.size(); ++l) {
    for (auto* cache : {&k_cache_[l], &v_cache_[l]}) {
      // Zeros, not empty: masked keys get probability 0, and 0 * NaN would leak.
      at::Tensor fresh = at::zeros(shape, opts);
      if (capacity_ > 0) fresh.narrow(2, 0, capacity_).copy_(cache->narrow(2, 0, capacity_));
      *cache = fresh;
    }
  }
  capacity_ = cap;
}

at::Tensor CausalLM::forward_rows(const std::vector<int64_t>& slots,
                                  const std::vector<int64_t>& starts,
                                  const std::vector<std::vector<int32_t>>& ids) {
  const bool use_cache = !slots.empty();
  const int64_t n = static_cast<int64_t>(ids.size());
  int64_t T = 0, K = 0;
  for (std::size_t r = 0; r < ids.size(); ++r) {
    T = std::max<int64_t>(T, static_cast<int64_t>(ids[r].size()));
    K = std::max<int64_t>(K, starts[r] + static_cast<int64_t>(ids[r].size()));
  }
  if (use_cache) ensure_capacity(K);
  const at::Device dev = options_.device;

  // Host-side index tensors: tokens and positions [n, T]; cache write positions, where the
  // internal padding goes to the scratch position `capacity_`.
  at::Tensor tok = at::zeros({n, T}, at::kLong);
  at::Tensor pos = at::empty({n, T}, at::kLong);
  at::Tensor wpos = at::empty({n, T}, at::kLong);
  {
    auto tk = tok.accessor<int64_t, 2>();
    auto ps = pos.accessor<int64_t, 2>();
    auto wp = wpos.accessor<int64_t, 2>();
    for (int64_t r = 0; r < n; ++r) {
      const auto& row = ids[static_cast<std::size_t>(r)];
      for (int64_t t = 0; t < T; ++t) {
        const bool real = t < static_cast<int64_t>(row.size());
        if (real) tk[r][t] = row[static_cast<std::size_t>(t)];
        ps[r][t] = starts[static_cast<std::size_t>(r)] + t;
        wp[r][t] = real ? ps[r][t] : capacity_;
      }
    }
  }
  tok = tok.to(dev);
  pos = pos.to(dev);

  // RoPE tables [n, T, 1, D] in the compute dtype; the mask [n, 1, 1, T, K]: key j is
  // visible from a query at position p when j <= p (and p - j < sliding_window).
  const RopeTables rope = rope_tables(pos, inv_freq_, options_.dtype);
  const at::Tensor hidden_mask = attention_hidden_mask(pos, K, config_.sliding_window);
  const at::Tensor full_mask =
      config_.mixed_windows() ? attention_hidden_mask(pos, K, 0) : at::Tensor();

  KvSource kv;
  if (use_cache) {
    bool contiguous_slots = true;
    for (std::size_t r = 1; r < slots.size(); ++r)
      if (slots[r] != slots[0] + static_cast<int64_t>(r)) contiguous_slots = false;
    const at::Tensor slot_idx = at::tensor(slots, at::kLong).to(dev);
    const at::Tensor wpos_dev = wpos.to(dev);
    kv = [&, contiguous_slots, slot_idx, wpos_dev](size_t l, const at::Tensor& k,
                                                   const at::Tensor& v) {
      at::Tensor& kc = k_cache_[l];
      at::Tensor& vc = v_cache_[l];
      // Advanced indices around a slice: the indexed view is [n, T, Hkv, D], as k and v.
      kc.index_put_({slot_idx.unsqueeze(1), Slice(), wpos_dev}, k);
      vc.index_put_({slot_idx.unsqueeze(1), Slice(), wpos_dev}, v);
      if (contiguous_slots)
        return std::make_pair(kc.narrow(0, slots[0], n).narrow(2, 0, K),
                              vc.narrow(0, slots[0], n).narrow(2, 0, K));
      return std::make_pair(kc.narrow(2, 0, K).index_select(0, slot_idx),
                            vc.narrow(2, 0, K).index_select(0, slot_idx));
    };
  }
  at::Tensor x = at::embedding(embed_, tok);  // [n, T, H]
  x = decoder_layers(x, layers_, config_, rope, hidden_mask, kv, full_mask);
  return x;
}

LMOutput CausalLM::head(const at::Tensor& x, const std::vector<std::vector<int32_t>>& ids) {
  const int64_t n = x.size(0);
  std::vector<int64_t> last(ids.size());
  for (std::size_t r = 0; r < ids.size(); ++r) last[r] = static_cast<int64_t>(ids[r].size()) - 1;
  at::Tensor rows = at::arange(n, at::TensorOptions().dtype(at::kLong).device(x.device()));
  at::Tensor cols = at::tensor(last, at::kLong).to(x.device());
  at::Tensor h = rms_norm(x.index({rows, cols}), norm_, config_.rms_norm_eps);  // [n, H]
  LMOutput out;
  out.logits = at::linear(h, lm_head_).to(at::kFloat);
  out.hidden = h.to(at::kFloat);
  if (x.size(1) == 1) {
    out.mean_hidden = out.hidden;
  } else {
    // Rows are right-padded to the longest: average each over its own tokens.
    const at::Tensor len = (cols + 1).to(at::kFloat);                                        // [n]
    const at::Tensor valid = at::arange(x.size(1), cols.options()).unsqueeze(0).le(cols.unsqueeze(1));  // [n, T]
    const at::Tensor all = rms_norm(x, norm_, config_.rms_norm_eps).to(at::kFloat);         // [n, T, H]
    out.mean_hidden = (all * valid.unsqueeze(2).to(at::kFloat)).sum(1) / len.unsqueeze(1);
  }
  return out;
}

LMOutput CausalLM::extend(const std::vector<int64_t>& slots,
                          const std::vector<std::vector<int32_t>>& ids) {
  c10::InferenceMode guard;
  RLAE_CHECK(!slots.empty() && slots.size() == ids.size(), "CausalLM::extend: ", slots.size(),
             " slots but ", ids.size(), " token lists");
  std::vector<bool> seen(static_cast<std::size_t>(options_.num_slots), false);
  std::vector<int64_t> starts(slots.size());
  for (std::size_t r = 0; r < slots.size(); ++r) {
    const int64_t s = slots[r];
    RLAE_CHECK(s >= 0 && s < options_.num_slots, "slot ", s, " out of range [0, ",
               options_.num_slots, ")");
    RLAE_CHECK(!seen[static_cast<std::size_t>(s)], "slot ", s, " given twice in one call");
    seen[static_cast<std::size_t>(s)] = true;
    RLAE_CHECK(!ids[r].empty(), "slot ", s, ": no tokens to append");
    for (int32_t id : ids[r])
      RLAE_CHECK(id >= 0 && id < config_.vocab_size, "slot ", s, ": token id ", id,
                 " outside the vocabulary [0, ", config_.vocab_size, ") of ", config_.source);
    starts[r] = lengths_[static_cast<std::size_t>(s)];
    const int64_t total = starts[r] + static_cast<int64_t>(ids[r].size());
    RLAE_CHECK(total <= max_seq_len_, "slot ", s, " would hold ", total,
               " tokens, more than max_seq_len ", max_seq_len_);
  }
  at::Tensor x = forward_rows(slots, starts, ids);
  for (std::size_t r = 0; r < slots.size(); ++r)
    lengths_[static_cast<std::size_t>(slots[r])] += static_cast<int64_t>(ids[r].size());
  return head(x, ids);
}

LMOutput CausalLM::prefill(const std::vector<int64_t>& slots,
                           const std::vector<std::vector<int32_t>>& prompts) {
  for (int64_t s : slots) reset(s);
  return extend(slots, prompts);
}

LMOutput CausalLM::prefill(const std::vector<std::vector<int32_t>>& prompts) {
  std::vector<int64_t> slots(prompts.size());
  for (std::size_t i = 0; i < slots.size(); ++i) slots[i] = static_cast<int64_t>(i);
  return prefill(slots, prompts);
}

LMOutput CausalLM::step(const std::vector<int64_t>& slots, const std::vector<int32_t>& ids) {
  std::vector<std::vector<int32_t>> rows(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) rows[i] = {ids[i]};
  return extend(slots, rows);
}

LMOutput CausalLM::step(const std::vector<int32_t>& ids) {
  std::vector<int64_t> slots(ids.size());
  for (std::size_t i = 0; i < slots.size(); ++i) slots[i] = static_cast<int64_t>(i);
  return step(slots, ids);
}

LMOutput CausalLM::append(int64_t slot, const std::vector<int32_t>& ids) {
  return extend({slot}, {ids});
}

at::Tensor CausalLM::forward_full(const std::vector<int32_t>& ids) {
  c10::InferenceMode guard;
  RLAE_CHECK(!ids.empty(), "CausalLM::forward_full: no tokens");
  RLAE_CHECK(static_cast<int64_t>(ids.size()) <= max_seq_len_, "CausalLM::forward_full: ",
             ids.size(), " tokens, more than max_seq_len ", max_seq_len_);
  for (int32_t id : ids)
    RLAE_CHECK(id >= 0 && id < config_.vocab_size, "token id ", id, " outside the vocabulary [0, ",
               config_.vocab_size, ") of ", config_.source);
  at::Tensor x = forward_rows({}, {0}, {ids});  // [1, T, H]
  at::Tensor h = rms_norm(x[0], norm_, config_.rms_norm_eps);
  return at::linear(h, lm_head_).to(at::kFloat);
}

}  // namespace rlae
