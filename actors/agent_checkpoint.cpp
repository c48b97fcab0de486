#include "actors/agent_checkpoint.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "common/check.h"
#include "common/checkpoint_meta.h"
#include "common/fs.h"
#include "common/rng.h"
#include "common/safetensors.h"

namespace rlae {

namespace {

std::string cache_dir() {
  if (const char* d = std::getenv("RLAE_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/rlae";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/rlae";
  return "";
}

// 64-bit hash of a stream of bytes, 8 at a time (about memory speed).
uint64_t hash_bytes(std::istream& in, const std::string& path) {
  std::vector<char> buf(1 << 20);
  uint64_t h = 0x9E3779B97F4A7C15ULL;
  uint64_t n = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto got = static_cast<size_t>(in.gcount());
    size_t i = 0;
    for (; i + 8 <= got; i += 8) {
      uint64_t w;
      std::memcpy(&w, buf.data() + i, 8);
      h = splitmix64(h ^ w);
    }
    for (; i < got; ++i) h = splitmix64(h ^ static_cast<unsigned char>(buf[i]));
    n += got;
  }
  RLAE_CHECK(in.eof(), path, ": read error while hashing the weights");
  return splitmix64(h ^ n);
}

// The weight files a member loads, as SafetensorsCheckpoint::open picks them:
// the shards of model.safetensors.index.json when there is one, else model.safetensors.
std::vector<std::string> weight_files(const std::string& dir) {
  const std::string index = dir + "/model.safetensors.index.json";
  const std::string single = dir + "/model.safetensors";
  if (!file_exists(index)) {
    RLAE_CHECK(file_exists(single), dir, ": no model.safetensors or model.safetensors.index.json");
    return {single};
  }
  std::set<std::string> shards;
  for (const auto& [name, file] : parse_shard_index(read_file(index), index)) shards.insert(file);
  std::vector<std::string> out;
  for (const auto& f : shards) out.push_back(dir + "/" + f);
  return out;
}

}  // namespace

std::string weights_file_hash(const std::string& path) {
  struct stat st{};
  RLAE_CHECK(::stat(path.c_str(), &st) == 0, path, ": cannot read (", std::strerror(errno), ")");
  const std::string key = std::to_string(st.st_size) + "-" + std::to_string(st.st_mtim.tv_sec) + "." +
                          std::to_string(st.st_mtim.tv_nsec);
  static std::mutex mu;
  static std::map<std::string, std::string> memo;
  char real[PATH_MAX];
  const std::string abs = ::realpath(path.c_str(), real) ? std::string(real) : path;
  const std::string id = abs + "|" + key;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = memo.find(id); it != memo.end()) return it->second;
  }
  const std::string dir = cache_dir();
  const std::string entry = dir.empty() ? "" : dir + "/weights/" + hex64(fnv1a(abs)) + "-" + key;
  std::string hash;
  if (!entry.empty() && file_exists(entry)) {
    try {
      hash = read_file(entry);
    } catch (const Error&) {
      hash.clear();
    }
    if (hash.size() != 16) hash.clear();
  }
  if (hash.empty()) {
    std::ifstream in(path, std::ios::binary);
    RLAE_CHECK(in.good(), path, ": cannot open to hash the weights");
    hash = hex64(hash_bytes(in, path));
    if (!entry.empty()) {
      try {  // a cache that cannot be written only costs time
        make_dirs(dir + "/weights");
        write_file_atomic(entry, hash);
      } catch (const Error&) {
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu);
  memo[id] = hash;
  return hash;
}

std::string members_fingerprint(const std::vector<std::string>& dirs) {
  uint64_t h = 1469598103934665603ULL;
  for (const auto& d : dirs) {
    h = fnv1a(read_file(d + "/config.json"), h);
    h = fnv1a(read_file(d + "/tokenizer.json"), h);
    for (const auto& f : weight_files(d)) h = fnv1a(weights_file_hash(f), h);
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
  RLAE_CHECK(meta.count("fingerprint_covers") && meta.at("fingerprint_covers") == kFingerprintCovers, path,
             ": written by an older rlae whose member fingerprint did not cover the weights, so it cannot be "
             "checked against these members; retrain the agents with this rlae (rlae train)");
  RLAE_CHECK(get("members_fingerprint") == fp, path, ": trained for other members (", get("members"),
             "); these members, in this order, differ in their weights, config.json or tokenizer.json");
  const AgentAlgo algo = parse_agent_algo(get("algo"));
  // Checkpoints written before rlae train --agent-obs existed hold own agents.
  AgentObs agent_obs = AgentObs::own;
  if (meta.count("agent_obs")) {
    try {
      agent_obs = parse_agent_obs(meta.at("agent_obs"));
    } catch (const Error& e) {
      RLAE_FAIL(path, ": ", e.what());
    }
  }
  RLAE_CHECK(algo == AgentAlgo::mappo || agent_obs == AgentObs::own, path, ": metadata says algo ",
             agent_algo_name(algo), " with agent_obs ", agent_obs_name(agent_obs),
             " (only mappo agents observe the group)");
  const int64_t K = checkpoint_meta_int(meta, "num_members", path);
  const int64_t D = checkpoint_meta_int(meta, "obs_width", path);
  RLAE_CHECK(K == static_cast<int64_t>(member_dirs.size()), path, ": trained for ", K, " members, given ",
             member_dirs.size());
  const at::Tensor w1 = file->get("agent0.l1.weight");
  AgentSet agents = AgentSet::create(algo, K, D, w1.size(0), 0, agent_obs);
  NamedTensors params;
  for (const auto& name : file->names()) {
    if (name.rfind("agent", 0) == 0) params.push_back({name, file->get(name)});
  }
  agents.load(params);
  return agents;
}

}  // namespace rlae
