#include "actors/model_config.h"

#include <sys/stat.h>

#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "common/check.h"
#include "common/fs.h"

namespace rlae {
namespace {

using json = nlohmann::json;


json parse_json(const std::string& text, const std::string& source) {
  try {
    json j = json::parse(text);
    RLAE_CHECK(j.is_object(), source, ": expected a JSON object");
    return j;
  } catch (const json::exception& e) {
    RLAE_FAIL(source, ": not valid JSON (", e.what(), ")");
  }
}

// A present, non-null field.
const json* field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<int64_t> opt_int(const json& j, const char* key, const std::string& source) {
  const json* v = field(j, key);
  if (!v) return std::nullopt;
  RLAE_CHECK(v->is_number_integer(), source, ": \"", key, "\" must be an integer, got ",
             v->dump());
  return v->get<int64_t>();
}

int64_t req_int(const json& j, const char* key, const std::string& source) {
  auto v = opt_int(j, key, source);
  RLAE_CHECK(v.has_value(), source, ": missing \"", key, "\"");
  return *v;
}

double num(const json& j, const char* key, double dflt, const std::string& source) {
  const json* v = field(j, key);
  if (!v) return dflt;
  RLAE_CHECK(v->is_number(), source, ": \"", key, "\" must be a number, got ", v->dump());
  return v->get<double>();
}

bool boolean(const json& j, const char* key, bool dflt, const std::string& source) {
  const json* v = field(j, key);
  if (!v) return dflt;
  RLAE_CHECK(v->is_boolean(), source, ": \"", key, "\" must be true or false, got ", v->dump());
  return v->get<bool>();
}

std::string str(const json& j, const char* key, const std::string& source) {
  const json* v = field(j, key);
  if (!v) return {};
  RLAE_CHECK(v->is_string(), source, ": \"", key, "\" must be a string, got ", v->dump());
  return v->get<std::string>();
}

// Reads bos/eos/pad token ids from a config or generation config; fills only unset ones.
void read_token_ids(const json& j, const std::string& source, ModelConfig* c) {
  if (!c->bos_token_id) c->bos_token_id = opt_int(j, "bos_token_id", source);
  if (!c->pad_token_id) c->pad_token_id = opt_int(j, "pad_token_id", source);
  if (c->eos_token_ids.empty()) {
    if (const json* v = field(j, "eos_token_id")) {
      if (v->is_array()) {
        for (const auto& e : *v) {
          RLAE_CHECK(e.is_number_integer(), source, ": \"eos_token_id\" list holds ", e.dump());
          c->eos_token_ids.push_back(e.get<int64_t>());
        }
      } else {
        RLAE_CHECK(v->is_number_integer(), source,
                   ": \"eos_token_id\" must be an integer or a list, got ", v->dump());
        c->eos_token_ids.push_back(v->get<int64_t>());
      }
    }
  }
}

// tokenizer_config.json names special tokens by their text ("<s>" or {"content": "<s>"}).
std::optional<std::string> special_token_text(const json& j, const char* key,
                                              const std::string& source) {
  const json* v = field(j, key);
  if (!v) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  if (v->is_object() && v->contains("content") && (*v)["content"].is_string())
    return (*v)["content"].get<std::string>();
  RLAE_FAIL(source, ": \"", key, "\" must be a token string or {\"content\": ...}, got ",
            v->dump());
}

void read_tokenizer_config(const std::string& dir, ModelConfig* c) {
  if (c->bos_token_id && c->pad_token_id && !c->eos_token_ids.empty()) return;
  const std::string tc_path = join_path(dir, "tokenizer_config.json");
  if (!file_exists(tc_path)) return;
  const json tc = parse_json(read_file(tc_path), tc_path);
  auto bos = special_token_text(tc, "bos_token", tc_path);
  auto eos = special_token_text(tc, "eos_token", tc_path);
  auto pad = special_token_text(tc, "pad_token", tc_path);
  if (!bos && !eos && !pad) return;

  // Token text -> id from tokenizer.json: added tokens, then a BPE/WordPiece vocab object.
  const std::string tj_path = join_path(dir, "tokenizer.json");
  RLAE_CHECK(file_exists(tj_path), tc_path, ": names special tokens but ", tj_path,
             " is missing, so their ids are unknown");
  const json tj = parse_json(read_file(tj_path), tj_path);
  std::map<std::string, int64_t> ids;
  if (const json* added = field(tj, "added_tokens"); added && added->is_array()) {
    for (const auto& t : *added)
      if (t.is_object() && t.contains("content") && t["content"].is_string() &&
          t.contains("id") && t["id"].is_number_integer())
        ids.emplace(t["content"].get<std::string>(), t["id"].get<int64_t>());
  }
  if (const json* model = field(tj, "model"); model && model->is_object()) {
    if (const json* vocab = field(*model, "vocab"); vocab && vocab->is_object())
      for (auto it = vocab->begin(); it != vocab->end(); ++it)
        if (it->is_number_integer()) ids.emplace(it.key(), it->get<int64_t>());
  }
  auto resolve = [&](const std::optional<std::string>& text, const char* what) {
    std::optional<int64_t> out;
    if (!text) return out;
    auto it = ids.find(*text);
    RLAE_CHECK(it != ids.end(), tc_path, ": ", what, " '", *text, "' is not a token of ", tj_path);
    out = it->second;
    return out;
  };
  if (!c->bos_token_id) c->bos_token_id = resolve(bos, "bos_token");
  if (c->eos_token_ids.empty())
    if (auto e = resolve(eos, "eos_token")) c->eos_token_ids.push_back(*e);
  if (!c->pad_token_id) c->pad_token_id = resolve(pad, "pad_token");
}

}  // namespace

const char* model_arch_class(ModelArch arch) {
  switch (arch) {
    case ModelArch::llama: return "LlamaForCausalLM";
    case ModelArch::qwen2: return "Qwen2ForCausalLM";
    case ModelArch::mistral: return "MistralForCausalLM";
  }
  return "?";
}

const char* model_arch_type(ModelArch arch) {
  switch (arch) {
    case ModelArch::llama: return "llama";
    case ModelArch::qwen2: return "qwen2";
    case ModelArch::mistral: return "mistral";
  }
  return "?";
}

ModelConfig ModelConfig::from_json(const std::string& text, const std::string& source) {
  const json j = parse_json(text, source);
  ModelConfig c;
  c.source = source;

  // Architecture: architectures[0], else model_type.
  std::string arch_name;
  if (const json* a = field(j, "architectures")) {
    RLAE_CHECK(a->is_array() && !a->empty() && (*a)[0].is_string(), source,
               ": \"architectures\" must be a non-empty list of class names");
    arch_name = (*a)[0].get<std::string>();
  }
  const std::string model_type = str(j, "model_type", source);
  bool found = false;
  for (ModelArch a : {ModelArch::llama, ModelArch::qwen2, ModelArch::mistral}) {
    if ((!arch_name.empty() && arch_name == model_arch_class(a)) ||
        (arch_name.empty() && model_type == model_arch_type(a))) {
      c.arch = a;
      found = true;
    }
  }
  RLAE_CHECK(found, source, ": unknown architecture '",
             arch_name.empty() ? model_type : arch_name,
             "' (supported: LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM)");

  c.vocab_size = req_int(j, "vocab_size", source);
  c.hidden_size = req_int(j, "hidden_size", source);
  c.intermediate_size = req_int(j, "intermediate_size", source);
  c.num_layers = req_int(j, "num_hidden_layers", source);
  c.num_heads = req_int(j, "num_attention_heads", source);
  RLAE_CHECK(c.num_heads > 0, source, ": \"num_attention_heads\" must be positive, got ",
             c.num_heads);
  c.num_kv_heads = opt_int(j, "num_key_value_heads", source).value_or(c.num_heads);
  const int64_t default_head_dim = c.hidden_size / c.num_heads;
  auto head_dim = opt_int(j, "head_dim", source);
  if (c.arch == ModelArch::qwen2) {
    RLAE_CHECK(!head_dim || *head_dim == default_head_dim, source,
               ": Qwen2 takes head_dim = hidden_size / num_attention_heads = ", default_head_dim,
               ", but config.json says ", *head_dim);
  }
  c.head_dim = head_dim.value_or(default_head_dim);
  c.max_position_embeddings = opt_int(j, "max_position_embeddings", source).value_or(2048);
  c.rms_norm_eps = num(j, "rms_norm_eps", 1e-6, source);
  c.tie_word_embeddings = boolean(j, "tie_word_embeddings", false, source);
  c.torch_dtype = str(j, "torch_dtype", source);
  if (c.torch_dtype.empty()) c.torch_dtype = str(j, "dtype", source);  // transformers 5.x

  const std::string act = str(j, "hidden_act", source);
  RLAE_CHECK(act.empty() || act == "silu", source, ": hidden_act '", act,
             "' is not supported (only silu)");
  const double partial = num(j, "partial_rotary_factor", 1.0, source);
  RLAE_CHECK(partial == 1.0, source, ": partial_rotary_factor ", partial,
             " is not supported (only 1.0)");

  switch (c.arch) {
    case ModelArch::llama:
      c.qkv_bias = c.o_bias = boolean(j, "attention_bias", false, source);
      c.mlp_bias = boolean(j, "mlp_bias", false, source);
      break;
    case ModelArch::qwen2: {
      c.qkv_bias = true;
      if (boolean(j, "use_sliding_window", false, source))
        c.sliding_window = opt_int(j, "sliding_window", source).value_or(4096);
      break;
    }
    case ModelArch::mistral:
      c.sliding_window = opt_int(j, "sliding_window", source).value_or(0);
      break;
  }
  RLAE_CHECK(c.sliding_window >= 0, source, ": sliding_window must be positive, got ",
             c.sliding_window);
  if (const json* lt = field(j, "layer_types"); lt && c.arch == ModelArch::qwen2) {
    RLAE_CHECK(lt->is_array() && static_cast<int64_t>(lt->size()) == c.num_layers, source,
               ": \"layer_types\" must list one entry per layer (", c.num_layers, ")");
    for (const json& t : *lt) {
      RLAE_CHECK(t.is_string() && (t == "full_attention" || t == "sliding_attention"), source,
                 ": layer_types entries must be \"full_attention\" or \"sliding_attention\", got ",
                 t.dump());
      c.windowed_layers.push_back(t == "sliding_attention");
    }
    bool any = false;
    for (bool w : c.windowed_layers) any = any || w;
    if (any && c.sliding_window == 0)
      c.sliding_window = opt_int(j, "sliding_window", source).value_or(4096);
    if (!any) {
      c.sliding_window = 0;
      c.windowed_layers.clear();
    }
  }

  c.rope.theta = num(j, "rope_theta", 10000.0, source);
  const json* rs = field(j, "rope_scaling");
  if (const json* rp = field(j, "rope_parameters")) {
    // transformers 5.x: rope_theta and the scaling in one object.
    RLAE_CHECK(rp->is_object(), source, ": \"rope_parameters\" must be an object or null");
    c.rope.theta = num(*rp, "rope_theta", c.rope.theta, source);
    const std::string t = str(*rp, "rope_type", source);
    rs = (t.empty() || t == "default") ? nullptr : rp;
  }
  if (rs) {
    RLAE_CHECK(rs->is_object(), source, ": \"rope_scaling\" must be an object or null");
    RLAE_CHECK(c.arch != ModelArch::mistral, source,
               ": rope_scaling is not supported for MistralForCausalLM (transformers 4.46 "
               "ignores it); set it to null");
    std::string type = str(*rs, "rope_type", source);
    if (type.empty()) type = str(*rs, "type", source);
    if (type.empty()) type = "default";
    c.rope.type = type;
    if (type == "default") {
    } else if (type == "linear") {
      RLAE_CHECK(field(*rs, "factor"), source, ": rope_scaling 'linear' needs \"factor\"");
      c.rope.factor = num(*rs, "factor", 1.0, source);
    } else if (type == "llama3") {
      for (const char* k : {"factor", "low_freq_factor", "high_freq_factor",
                            "original_max_position_embeddings"})
        RLAE_CHECK(field(*rs, k), source, ": rope_scaling 'llama3' needs \"", k, "\"");
      c.rope.factor = num(*rs, "factor", 1.0, source);
      c.rope.low_freq_factor = num(*rs, "low_freq_factor", 1.0, source);
      c.rope.high_freq_factor = num(*rs, "high_freq_factor", 4.0, source);
      c.rope.original_max_position_embeddings =
          req_int(*rs, "original_max_position_embeddings", source);
      RLAE_CHECK(c.rope.high_freq_factor != c.rope.low_freq_factor, source,
                 ": rope_scaling 'llama3' needs high_freq_factor != low_freq_factor");
    } else {
      RLAE_FAIL(source, ": rope_scaling type '", type,
                "' is not supported (supported: default, linear, llama3)");
    }
  }

  read_token_ids(j, source, &c);
  c.validate();
  return c;
}

ModelConfig ModelConfig::from_dir(const std::string& dir) {
  const std::string config_path = join_path(dir, "config.json");
  RLAE_CHECK(file_exists(config_path), dir, ": not a model directory (no config.json)");
  // Token ids: generation_config.json first, then config.json, then tokenizer_config.json.
  ModelConfig gen;
  const std::string gen_path = join_path(dir, "generation_config.json");
  if (file_exists(gen_path)) read_token_ids(parse_json(read_file(gen_path), gen_path), gen_path, &gen);

  ModelConfig c = from_json(read_file(config_path), config_path);
  if (gen.bos_token_id) c.bos_token_id = gen.bos_token_id;
  if (gen.pad_token_id) c.pad_token_id = gen.pad_token_id;
  if (!gen.eos_token_ids.empty()) c.eos_token_ids = gen.eos_token_ids;
  read_tokenizer_config(dir, &c);
  for (int64_t e : c.eos_token_ids)
    RLAE_CHECK(e >= 0 && e < c.vocab_size, dir, ": eos token id ", e, " is outside the vocabulary of ",
               c.vocab_size);
  RLAE_CHECK(!c.bos_token_id || (*c.bos_token_id >= 0 && *c.bos_token_id < c.vocab_size), dir,
             ": bos token id ", c.bos_token_id.value_or(0), " is outside the vocabulary of ",
             c.vocab_size);
  return c;
}

void ModelConfig::validate() const {
  const std::string& s = source.empty() ? std::string("model config") : source;
  RLAE_CHECK(vocab_size > 0, s, ": vocab_size must be positive, got ", vocab_size);
  RLAE_CHECK(hidden_size > 0, s, ": hidden_size must be positive, got ", hidden_size);
  RLAE_CHECK(intermediate_size > 0, s, ": intermediate_size must be positive, got ",
             intermediate_size);
  RLAE_CHECK(num_layers > 0, s, ": num_hidden_layers must be positive, got ", num_layers);
  RLAE_CHECK(num_heads > 0, s, ": num_attention_heads must be positive, got ", num_heads);
  RLAE_CHECK(num_kv_heads > 0 && num_heads % num_kv_heads == 0, s,
             ": num_attention_heads (", num_heads, ") must be a multiple of num_key_value_heads (",
             num_kv_heads, ")");
  RLAE_CHECK(head_dim > 0 && head_dim % 2 == 0, s, ": head_dim must be positive and even, got ",
             head_dim);
  RLAE_CHECK(max_position_embeddings > 0, s, ": max_position_embeddings must be positive");
  // Upper bounds far above any released model: a config.json claiming more is
  // damaged, and must fail here rather than in loops and allocations sized by it
  // (the model_config fuzz target spent minutes on num_hidden_layers 9e14).
  struct Bound { const char* name; int64_t value, max; };
  for (const Bound& b : {Bound{"vocab_size", vocab_size, int64_t{1} << 24},
                         Bound{"hidden_size", hidden_size, int64_t{1} << 17},
                         Bound{"intermediate_size", intermediate_size, int64_t{1} << 20},
                         Bound{"num_hidden_layers", num_layers, 1024},
                         Bound{"num_attention_heads", num_heads, 4096},
                         Bound{"head_dim", head_dim, 4096},
                         Bound{"max_position_embeddings", max_position_embeddings, int64_t{1} << 30}}) {
    RLAE_CHECK(b.value <= b.max, s, ": ", b.name, " ", b.value, " is beyond any real model (rlae reads at most ",
               b.max, ")");
  }
  RLAE_CHECK(rms_norm_eps > 0 && std::isfinite(rms_norm_eps), s,
             ": rms_norm_eps must be positive, got ", rms_norm_eps);
  RLAE_CHECK(rope.theta > 0 && std::isfinite(rope.theta), s, ": rope_theta must be positive");
  RLAE_CHECK(rope.factor > 0 && std::isfinite(rope.factor), s,
             ": rope_scaling factor must be positive");
  RLAE_CHECK(rope.type == "default" || rope.type == "linear" || rope.type == "llama3", s,
             ": rope_scaling type '", rope.type, "' is not supported");
  RLAE_CHECK(rope.type != "llama3" || rope.original_max_position_embeddings > 0, s,
             ": rope_scaling original_max_position_embeddings must be positive");
  RLAE_CHECK(sliding_window >= 0, s, ": sliding_window must be positive");
  RLAE_CHECK(windowed_layers.empty() || static_cast<int64_t>(windowed_layers.size()) == num_layers,
             s, ": layer_types must list one entry per layer (", num_layers, ")");
  switch (arch) {
    case ModelArch::llama:
      RLAE_CHECK(qkv_bias == o_bias, s, ": Llama has biases on all of q/k/v/o or none");
      break;
    case ModelArch::qwen2:
      RLAE_CHECK(qkv_bias && !o_bias && !mlp_bias, s,
                 ": Qwen2 has q/k/v biases and no o_proj or MLP biases");
      RLAE_CHECK(head_dim * num_heads == hidden_size, s,
                 ": Qwen2 needs head_dim * num_attention_heads == hidden_size");
      break;
    case ModelArch::mistral:
      RLAE_CHECK(!qkv_bias && !o_bias && !mlp_bias, s, ": Mistral has no biases");
      RLAE_CHECK(rope.type == "default", s, ": Mistral has no rope scaling");
      break;
  }
  RLAE_CHECK(arch != ModelArch::llama || sliding_window == 0, s, ": Llama has no sliding window");
}

std::string ModelConfig::to_json() const {
  validate();
  nlohmann::ordered_json j;
  j["architectures"] = {model_arch_class(arch)};
  j["model_type"] = model_arch_type(arch);
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_layers;
  j["num_attention_heads"] = num_heads;
  j["num_key_value_heads"] = num_kv_heads;
  if (arch != ModelArch::qwen2) j["head_dim"] = head_dim;
  j["hidden_act"] = "silu";
  j["max_position_embeddings"] = max_position_embeddings;
  j["rms_norm_eps"] = rms_norm_eps;
  j["rope_theta"] = rope.theta;
  if (rope.type == "default") {
    j["rope_scaling"] = nullptr;
  } else if (rope.type == "linear") {
    j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", rope.factor}};
  } else {
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", rope.factor},
                         {"low_freq_factor", rope.low_freq_factor},
                         {"high_freq_factor", rope.high_freq_factor},
                         {"original_max_position_embeddings", rope.original_max_position_embeddings}};
  }
  switch (arch) {
    case ModelArch::llama:
      j["attention_bias"] = qkv_bias;
      j["mlp_bias"] = mlp_bias;
      break;
    case ModelArch::qwen2:
      // layer_types says which layers slide for transformers 5.x (which otherwise reads
      // max_window_layers as "the first N layers attend fully"); 4.46 slides every layer.
      j["use_sliding_window"] = sliding_window > 0;
      j["sliding_window"] = sliding_window > 0 ? sliding_window : 4096;
      j["max_window_layers"] = sliding_window > 0 && windowed_layers.empty() ? 0 : num_layers;
      j["layer_types"] = nlohmann::ordered_json::array();
      for (int64_t l = 0; l < num_layers; ++l)
        j["layer_types"].push_back(layer_windowed(l) ? "sliding_attention" : "full_attention");
      break;
    case ModelArch::mistral:
      if (sliding_window > 0)
        j["sliding_window"] = sliding_window;
      else
        j["sliding_window"] = nullptr;
      break;
  }
  j["attention_dropout"] = 0.0;
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["torch_dtype"] = torch_dtype.empty() ? std::string("float32") : torch_dtype;
  j["use_cache"] = true;
  if (bos_token_id) j["bos_token_id"] = *bos_token_id;
  if (eos_token_ids.size() == 1) j["eos_token_id"] = eos_token_ids[0];
  if (eos_token_ids.size() > 1) j["eos_token_id"] = eos_token_ids;
  if (pad_token_id) j["pad_token_id"] = *pad_token_id;
  j["transformers_version"] = "4.46.3";
  return j.dump(2) + "\n";
}

std::string ModelConfig::generation_config_json() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (bos_token_id) j["bos_token_id"] = *bos_token_id;
  if (eos_token_ids.size() == 1) j["eos_token_id"] = eos_token_ids[0];
  if (eos_token_ids.size() > 1) j["eos_token_id"] = eos_token_ids;
  if (pad_token_id) j["pad_token_id"] = *pad_token_id;
  j["transformers_version"] = "4.46.3";
  return j.dump(2) + "\n";
}

}  // namespace rlae
