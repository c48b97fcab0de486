// at::Tensor <-> wire items (common/wire.h), and the two tensor-carrying
// messages: policy parameters (ordered named tensors + version) and trajectory
// batches (common/trajectory.h).
//
// Trajectory payload (type trajectory, header policy_version = the version that
// acted): tensors obs, share_obs, actions, logprobs, weights, rewards, dones,
// values, policy_version, episode, span_index with the dtypes and shapes of
// TrajectoryBatch; strings prompt_id, task, text [E]; tensor correct u8 [E].
// Exactly these 15 items; decode_trajectory() then runs TrajectoryBatch::validate().
//
// Params payload (type params, header policy_version = the parameters'
// version): one tensor item per parameter, in order, any supported dtype.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/wire.h"

namespace rlae {
struct TrajectoryBatch;
}

namespace rlae::wire {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// rlae::Error for a dtype the wire does not carry (complex, quantized, ...).
WireDType to_wire_dtype(at::ScalarType t);
at::ScalarType from_wire_dtype(WireDType d);

// Appends `t` (any device and layout; copied to contiguous CPU memory).
void add_tensor(Writer& w, const std::string& name, const at::Tensor& t);
// A CPU tensor owning a copy of the item's bytes.
at::Tensor to_tensor(const Item& it);

std::vector<uint8_t> encode_params(uint32_t sender, uint64_t version, const NamedTensors& params);
NamedTensors decode_params(const Message& m);

std::vector<uint8_t> encode_trajectory(uint32_t sender, uint64_t policy_version, const TrajectoryBatch& batch);
TrajectoryBatch decode_trajectory(const Message& m);

}  // namespace rlae::wire
