// Hashing and seeded randomness, one copy for the whole project.
//
//   fnv1a(bytes[, h])              64-bit FNV-1a (fingerprints, config hashes, stream names)
//   hex64(h)                       16 hex digits
//   splitmix64(z)                  the splitmix64 output function of one state value
//   SplitMix64 rng(seed)           the splitmix64 generator: next(), uniform(), below(n)
//   derive_seed(seed, "name", i, j, ...)
//                                  a named, indexed stream of the run's seed: every
//                                  random choice in rlae draws from a stream named
//                                  for what it is for (no magic multipliers at the
//                                  call sites), so streams never collide and a
//                                  resumed run draws what an uninterrupted one would.
//
// The stream names used in rlae (search for them to find every consumer):
//   "rollout.prompts"     (iteration, group, i)  which training problem is prompt i
//   "rollout.agents"      (iteration, group)     the seed of a rollout's AgentPolicy, whose
//     "agents.sample"       (member)             MAPPO: member m's Gamma samples
//     "agents.sample.joint" ()                   PPO: the one agent's samples (every rank)
//   "ensemble.sample"     (prompt, step)         temperature sampling of the merged distribution
//   "generate.sample"     (prompt)               one member's temperature sampling
//   "agents.init"         (agent)                MAPPO agent network initialization
//   "agents.init.joint"   ()                     PPO agent network initialization
//   "critic.init"         ()                     critic initialization
//   "ppo.minibatches"     (update)               minibatch permutation of a PPO update
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace rlae {

constexpr uint64_t kFnvOffset = 1469598103934665603ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

constexpr uint64_t fnv1a(std::string_view s, uint64_t h = kFnvOffset) {
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * kFnvPrime;
  return h;
}
uint64_t fnv1a_bytes(const void* data, size_t n, uint64_t h = kFnvOffset);
std::string hex64(uint64_t h);

constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ULL;

constexpr uint64_t splitmix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() { return splitmix64(state_ += kGoldenGamma); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  // Uniform in [0, n) (n >= 1; modulo draw, as every stream in rlae has used).
  uint64_t below(uint64_t n) { return next() % n; }

 private:
  uint64_t state_;
};

// The seed of the stream `name` of `seed`, at the given indices.
uint64_t derive_seed(uint64_t seed, std::string_view name, std::initializer_list<uint64_t> indices = {});

// A uniform double in [0, 1) from a seed (its first draw).
inline double seed_uniform(uint64_t seed) { return SplitMix64(seed).uniform(); }

}  // namespace rlae
