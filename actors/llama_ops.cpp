#include "actors/llama_ops.h"

#include <cmath>
#include <limits>

#include <ATen/ATen.h>

namespace rlae {

std::string llama_layer_prefix(int64_t layer) {
  return "model.layers." + std::to_string(layer) + ".";
}

std::vector<WeightSpec> llama_weight_specs(const ModelConfig& c) {
  const int64_t H = c.hidden_size, I = c.intermediate_size, D = c.head_dim;
  const int64_t q_out = c.num_heads * D, kv_out = c.num_kv_heads * D;
  std::vector<WeightSpec> s;
  s.push_back({"model.embed_tokens.weight", {c.vocab_size, H}, WeightKind::embedding});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = llama_layer_prefix(i);
    auto proj = [&](const std::string& name, int64_t out, int64_t in, bool bias) {
      s.push_back({p + name + ".weight", {out, in}, WeightKind::linear});
      if (bias) s.push_back({p + name + ".bias", {out}, WeightKind::bias});
    };
    proj("self_attn.q_proj", q_out, H, c.qkv_bias);
    proj("self_attn.k_proj", kv_out, H, c.qkv_bias);
    proj("self_attn.v_proj", kv_out, H, c.qkv_bias);
    proj("self_attn.o_proj", H, q_out, c.o_bias);
    proj("mlp.gate_proj", I, H, c.mlp_bias);
    proj("mlp.up_proj", I, H, c.mlp_bias);
    proj("mlp.down_proj", H, I, c.mlp_bias);
    s.push_back({p + "input_layernorm.weight", {H}, WeightKind::norm});
    s.push_back({p + "post_attention_layernorm.weight", {H}, WeightKind::norm});
  }
  s.push_back({"model.norm.weight", {H}, WeightKind::norm});
  if (!c.tie_word_embeddings) s.push_back({"lm_head.weight", {c.vocab_size, H}, WeightKind::linear});
  return s;
}

LlamaLayer llama_make_layer(const ModelConfig& c, int64_t layer,
                            const std::function<at::Tensor(const std::string&)>& get_named) {
  const std::string p = llama_layer_prefix(layer);
  auto get = [&](const char* n) { return get_named(p + n); };
  LlamaLayer L;
  L.ln_attn = get("input_layernorm.weight");
  L.ln_mlp = get("post_attention_layernorm.weight");
  L.w_qkv = at::cat({get("self_attn.q_proj.weight"), get("self_attn.k_proj.weight"),
                     get("self_attn.v_proj.weight")}, 0);
  if (c.qkv_bias)
    L.b_qkv = at::cat({get("self_attn.q_proj.bias"), get("self_attn.k_proj.bias"),
                       get("self_attn.v_proj.bias")}, 0);
  L.w_o = get("self_attn.o_proj.weight");
  if (c.o_bias) L.b_o = get("self_attn.o_proj.bias");
  L.w_gate_up = at::cat({get("mlp.gate_proj.weight"), get("mlp.up_proj.weight")}, 0);
  L.w_down = get("mlp.down_proj.weight");
  if (c.mlp_bias) {
    L.b_gate_up = at::cat({get("mlp.gate_proj.bias"), get("mlp.up_proj.bias")}, 0);
    L.b_down = get("mlp.down_proj.bias");
  }
  return L;
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  at::Tensor xf = x.to(at::kFloat);
  at::Tensor var = xf.pow(2).mean(-1, /*keepdim=*/true);
  xf = xf * at::rsqrt(var + eps);
  return weight * xf.to(x.scalar_type());
}

at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  return b.defined() ? at::linear(x, w, b) : at::linear(x, w);
}

at::Tensor rope_inv_freq(const ModelConfig& c) {
  const int64_t D = c.head_dim;
  at::Tensor e = at::arange(0, D, 2, at::kLong).to(at::kFloat) / static_cast<double>(D);
  at::Tensor inv = at::reciprocal(at::pow(c.rope.theta, e));
  if (c.rope.type == "linear") {
    inv = inv / c.rope.factor;
  } else if (c.rope.type == "llama3") {
    const double factor = c.rope.factor, lo = c.rope.low_freq_factor, hi = c.rope.high_freq_factor;
    const double old_len = static_cast<double>(c.rope.original_max_position_embeddings);
    const double lo_wavelen = old_len / lo, hi_wavelen = old_len / hi;
    at::Tensor wavelen = at::reciprocal(inv) * (2 * M_PI);
    at::Tensor scaled = at::where(wavelen > lo_wavelen, inv / factor, inv);
    at::Tensor smooth = (at::reciprocal(wavelen) * old_len - lo) / (hi - lo);
    at::Tensor smoothed = (1 - smooth) * scaled / factor + smooth * scaled;
    at::Tensor medium = at::logical_not(wavelen < hi_wavelen) * at::logical_not(wavelen > lo_wavelen);
    inv = at::where(medium, smoothed, scaled);
  }
  return inv.contiguous();
}

RopeTables rope_tables(const at::Tensor& positions, const at::Tensor& inv_freq,
                       at::ScalarType dtype) {
  at::Tensor freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq;  // [n, T, D/2]
  at::Tensor emb = at::cat({freqs, freqs}, -1);
  return {emb.cos().to(dtype).unsqueeze(2), emb.sin().to(dtype).unsqueeze(2)};
}

// rotate_half(x) = cat(-x2, x1).
at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  // chunk(), not two narrow()s: under autograd one split backward instead of two
  // zero-filled slice backwards.
  const std::vector<at::Tensor> halves = x.chunk(2, -1);
  at::Tensor rot = at::cat({-halves[1], halves[0]}, -1);
  return x * cos + rot * sin;
}

at::Tensor attention_hidden_mask(const at::Tensor& query_index, int64_t K, int64_t sliding_window,
                                 const at::Tensor& segments) {
  const int64_t n = query_index.size(0), T = query_index.size(1);
  at::Tensor keypos = at::arange(K, query_index.options().dtype(at::kLong));
  at::Tensor q = query_index.unsqueeze(-1);  // [n, T, 1]
  at::Tensor visible = keypos <= q;          // [n, T, K]
  if (sliding_window > 0) visible = at::logical_and(visible, (q - keypos) < sliding_window);
  if (segments.defined()) {
    at::Tensor qseg = segments.gather(1, query_index).unsqueeze(-1);  // [n, T, 1]
    visible = at::logical_and(visible, qseg == segments.unsqueeze(1));
  }
  return at::logical_not(visible).view({n, 1, 1, T, K});
}

at::Tensor attention(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values,
                     const at::Tensor& hidden_mask) {
  const int64_t n = q.size(0), T = q.size(1), Hq = q.size(2), D = q.size(3);
  const int64_t Hkv = keys.size(1), K = keys.size(2), G = Hq / Hkv;
  const double scale = std::sqrt(static_cast<double>(D));
  // Query heads h = g * G + i share key/value head g, so [n, Hq, T, D] views as
  // [n, Hkv, G * T, D]: no repeated keys and values.
  at::Tensor qh = q.permute({0, 2, 1, 3}).contiguous().view({n, Hkv, G * T, D});
  at::Tensor scores = at::matmul(qh, keys.transpose(-1, -2)) / scale;  // [n, Hkv, G T, K]
  scores = scores.to(at::kFloat).view({n, Hkv, G, T, K})
               .masked_fill(hidden_mask, std::numeric_limits<float>::lowest());
  at::Tensor probs = at::softmax(scores, -1).to(q.scalar_type()).view({n, Hkv, G * T, K});
  return at::matmul(probs, values)  // [n, Hkv, G T, D]
      .view({n, Hq, T, D})
      .permute({0, 2, 1, 3})
      .reshape({n, T, Hq * D});
}

at::Tensor decoder_layers(at::Tensor x, const std::vector<LlamaLayer>& layers,
                          const ModelConfig& c, const RopeTables& rope,
                          const at::Tensor& hidden_mask, const KvSource& kv,
                          const at::Tensor& full_mask) {
  const int64_t n = x.size(0), T = x.size(1);
  const int64_t Hq = c.num_heads, Hkv = c.num_kv_heads, D = c.head_dim, I = c.intermediate_size;
  for (size_t l = 0; l < layers.size(); ++l) {
    const LlamaLayer& L = layers[l];
    at::Tensor h = rms_norm(x, L.ln_attn, c.rms_norm_eps);
    at::Tensor qkv = linear(h, L.w_qkv, L.b_qkv);  // [n, T, (Hq + 2 Hkv) D]
    // split_with_sizes (views), so that autograd concatenates the three gradients once.
    const std::vector<at::Tensor> parts = qkv.split_with_sizes({Hq * D, Hkv * D, Hkv * D}, -1);
    at::Tensor q = parts[0].view({n, T, Hq, D});
    at::Tensor k = parts[1].view({n, T, Hkv, D});
    at::Tensor v = parts[2].view({n, T, Hkv, D});
    q = apply_rope(q, rope.cos, rope.sin);
    k = apply_rope(k, rope.cos, rope.sin);
    at::Tensor keys, values;  // [n, Hkv, K, D]
    if (kv) {
      std::tie(keys, values) = kv(l, k, v);
    } else {
      keys = k.permute({0, 2, 1, 3});
      values = v.permute({0, 2, 1, 3});
    }
    const at::Tensor& mask =
        full_mask.defined() && !c.layer_windowed(static_cast<int64_t>(l)) ? full_mask : hidden_mask;
    x = x + linear(attention(q, keys, values, mask), L.w_o, L.b_o);

    h = rms_norm(x, L.ln_mlp, c.rms_norm_eps);
    at::Tensor gu = linear(h, L.w_gate_up, L.b_gate_up);  // [n, T, 2 I]
    const std::vector<at::Tensor> g_u = gu.split(I, -1);
    at::Tensor act = at::silu(g_u[0]) * g_u[1];
    x = x + linear(act, L.w_down, L.b_down);
  }
  return x;
}

}  // namespace rlae
