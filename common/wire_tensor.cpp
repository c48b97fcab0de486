#include "common/wire_tensor.h"

#include <ATen/ATen.h>

#include <cmath>
#include <cstring>

#include "common/check.h"
#include "common/trajectory.h"

namespace rlae::wire {

WireDType to_wire_dtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return WireDType::f32;
    case at::kDouble: return WireDType::f64;
    case at::kHalf: return WireDType::f16;
    case at::kBFloat16: return WireDType::bf16;
    case at::kLong: return WireDType::i64;
    case at::kInt: return WireDType::i32;
    case at::kShort: return WireDType::i16;
    case at::kChar: return WireDType::i8;
    case at::kByte: return WireDType::u8;
    case at::kBool: return WireDType::boolean;
    default: break;
  }
  RLAE_FAIL("wire: tensors of dtype ", t, " cannot be sent");
}

at::ScalarType from_wire_dtype(WireDType d) {
  switch (d) {
    case WireDType::f32: return at::kFloat;
    case WireDType::f64: return at::kDouble;
    case WireDType::f16: return at::kHalf;
    case WireDType::bf16: return at::kBFloat16;
    case WireDType::i64: return at::kLong;
    case WireDType::i32: return at::kInt;
    case WireDType::i16: return at::kShort;
    case WireDType::i8: return at::kChar;
    case WireDType::u8: return at::kByte;
    case WireDType::boolean: return at::kBool;
  }
  RLAE_FAIL("wire: unknown dtype code ", static_cast<int>(d));
}

void add_tensor(Writer& w, const std::string& name, const at::Tensor& t) {
  RLAE_CHECK(t.defined(), "wire: tensor '", name, "' is undefined");
  const at::Tensor c = t.device().is_cpu() ? t.contiguous() : t.to(at::kCPU).contiguous();
  const std::vector<int64_t> shape(c.sizes().begin(), c.sizes().end());
  w.add_tensor(name, to_wire_dtype(c.scalar_type()), shape, c.data_ptr(), c.nbytes());
}

at::Tensor to_tensor(const Item& it) {
  RLAE_CHECK(it.kind == Item::Kind::tensor, "wire: item '", it.name, "' is not a tensor");
  at::Tensor t = at::empty(it.shape, at::TensorOptions().dtype(from_wire_dtype(it.dtype)));
  RLAE_ASSERT(t.nbytes() == it.nbytes, "decoded tensor size");
  if (it.nbytes > 0) std::memcpy(t.data_ptr(), it.data, it.nbytes);
  return t;
}

std::vector<uint8_t> encode_params(uint32_t sender, uint64_t version, const NamedTensors& params) {
  Writer w;
  size_t bytes = 0;
  for (const auto& [name, t] : params) bytes += t.defined() ? t.nbytes() + name.size() + 96 : 0;
  w.reserve(bytes);
  for (const auto& [name, t] : params) add_tensor(w, name, t);
  return w.finish(MsgType::params, sender, version);
}

NamedTensors decode_params(const Message& m) {
  RLAE_CHECK(m.header.type == MsgType::params, "wire: expected a params message, got ",
             msg_type_name(m.header.type));
  NamedTensors out;
  out.reserve(m.items.size());
  for (const Item& it : m.items) {
    RLAE_CHECK(it.kind == Item::Kind::tensor, "wire: params item '", it.name, "' is not a tensor");
    out.emplace_back(it.name, to_tensor(it));
  }
  return out;
}

namespace {
const char* const kTrajTensors[] = {"obs",    "share_obs",      "actions", "logprobs", "weights",   "rewards",
                                    "dones",  "values", "policy_version", "episode",  "span_index"};
}  // namespace

std::vector<uint8_t> encode_trajectory(uint32_t sender, uint64_t policy_version, const TrajectoryBatch& b) {
  b.validate();
  const at::Tensor* fields[] = {&b.obs,   &b.share_obs,      &b.actions, &b.logprobs, &b.weights,   &b.rewards,
                                &b.dones, &b.values, &b.policy_version, &b.episode, &b.span_index};
  Writer w;
  size_t bytes = 0;
  for (const at::Tensor* t : fields) bytes += t->nbytes() + 128;
  for (const auto* v : {&b.prompt_id, &b.task, &b.text}) {
    for (const std::string& s : *v) bytes += s.size() + 4;
  }
  w.reserve(bytes + b.correct.size() + 256);
  for (size_t i = 0; i < std::size(kTrajTensors); ++i) add_tensor(w, kTrajTensors[i], *fields[i]);
  w.add_strings("prompt_id", b.prompt_id);
  w.add_strings("task", b.task);
  w.add_strings("text", b.text);
  w.add_tensor("correct", WireDType::u8, {static_cast<int64_t>(b.correct.size())}, b.correct.data(),
               b.correct.size());
  const RolloutInfo& r = b.info;
  const double info[RolloutInfo::kFields] = {static_cast<double>(r.iteration), static_cast<double>(r.group),
                                             static_cast<double>(r.tokens), r.seconds, r.forward_seconds,
                                             r.exchange_seconds, r.decide_seconds, r.wait_params_seconds};
  w.add_tensor("rollout", WireDType::f64, {RolloutInfo::kFields}, info, sizeof(info));
  return w.finish(MsgType::trajectory, sender, policy_version);
}

TrajectoryBatch decode_trajectory(const Message& m) {
  RLAE_CHECK(m.header.type == MsgType::trajectory, "wire: expected a trajectory message, got ",
             msg_type_name(m.header.type));
  const size_t expected = std::size(kTrajTensors) + 4;  // + "rollout" (optional)
  RLAE_CHECK(m.items.size() == expected || m.items.size() == expected + 1, "wire: a trajectory has ", expected,
             " or ", expected + 1, " items, this one ", m.items.size());
  TrajectoryBatch b;
  at::Tensor* fields[] = {&b.obs,   &b.share_obs,      &b.actions, &b.logprobs, &b.weights,   &b.rewards,
                          &b.dones, &b.values, &b.policy_version, &b.episode, &b.span_index};
  for (size_t i = 0; i < std::size(kTrajTensors); ++i) *fields[i] = to_tensor(m.tensor(kTrajTensors[i]));
  b.prompt_id = m.strings("prompt_id").strings;
  b.task = m.strings("task").strings;
  b.text = m.strings("text").strings;
  const Item& correct = m.tensor("correct");
  RLAE_CHECK(correct.dtype == WireDType::u8 && correct.shape.size() == 1, "wire: trajectory 'correct' must be u8 [E]");
  b.correct.assign(correct.data, correct.data + correct.nbytes);
  if (const Item* info = m.find("rollout")) {
    RLAE_CHECK(info->kind == Item::Kind::tensor && info->dtype == WireDType::f64 && info->shape.size() == 1 &&
                   info->shape[0] == RolloutInfo::kFields,
               "wire: trajectory 'rollout' must be f64 [", RolloutInfo::kFields, "]");
    double v[RolloutInfo::kFields];
    std::memcpy(v, info->data, sizeof(v));
    for (double x : v) RLAE_CHECK(std::isfinite(x), "wire: trajectory 'rollout' holds a non-finite value");
    for (int i = 0; i < 3; ++i)  // iteration, group, tokens: integers (a cast out of range is undefined)
      RLAE_CHECK(std::fabs(v[i]) < 9.0e15, "wire: trajectory 'rollout' field ", i, " (", v[i],
                 ") is not an integer count");
    b.info = {static_cast<int64_t>(v[0]), static_cast<int64_t>(v[1]), static_cast<int64_t>(v[2]), v[3], v[4], v[5],
              v[6], v[7]};
  }
  try {
    b.validate();
  } catch (const Error& e) {
    RLAE_FAIL("wire: invalid trajectory from rank ", m.header.sender, ": ", e.what());
  }
  return b;
}

}  // namespace rlae::wire
