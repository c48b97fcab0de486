#include "actors/agent_checkpoint.h"

#include "common/check.h"
#include "common/fs.h"
#include "common/rng.h"
#include "common/safetensors.h"

namespace rlae {

std::string members_fingerprint(const std::vector<std::string>& dirs) {
  uint64_t h = 1469598103934665603ULL;
  for (const auto& d : dirs) {
    h = fnv1a(read_file(d + "/config.json"), h);
    h = fnv1a(read_file(d + "/tokenizer.json"), h);
    h = fnv1a("|", h);
  }
  return hex64(h);
}

AgentSet load_agents(const std::string& path, const std::vector<std::string>& member_dirs) {
  auto file = SafetensorsFile::open(path);
  const auto& meta = file->metadata();
  auto get = [&](const char* key) {
    auto it = meta.find(key);
    RLAE_CHECK(it != meta.end(), path, ": not an rlae checkpoint (metadata '", key, "' missing)");
    return it->second;
  };
  const std::string fp = members_fingerprint(member_dirs);
  RLAE_CHECK(get("members_fingerprint") == fp, path, ": trained for other members (", get("members"),
             "); these members differ in their config.json or tokenizer.json");
  const AgentAlgo algo = parse_agent_algo(get("algo"));
  const int64_t K = std::stoll(get("num_members"));
  const int64_t D = std::stoll(get("obs_width"));
  RLAE_CHECK(K == static_cast<int64_t>(member_dirs.size()), path, ": trained for ", K, " members, given ",
             member_dirs.size());
  const at::Tensor w1 = file->get("agent0.l1.weight");
  AgentSet agents = AgentSet::create(algo, K, D, w1.size(0), 0);
  NamedTensors params;
  for (const auto& name : file->names()) {
    if (name.rfind("agent", 0) == 0) params.push_back({name, file->get(name)});
  }
  agents.load(params);
  return agents;
}

}  // namespace rlae
