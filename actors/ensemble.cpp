#include "actors/ensemble.h"

#include <exception>
#include <thread>

#include "common/check.h"

namespace rlae {
namespace {

// Runs fn(m) for m = 0..K-1 on K threads of an in-process group. A failure on
// one thread aborts the group (waking the others out of their collectives) and
// the first failure that is not the echo of another member's abort is rethrown.
template <typename Fn>
void run_members(std::vector<std::unique_ptr<Communicator>>& group, Fn fn) {
  const int K = static_cast<int>(group.size());
  std::vector<std::exception_ptr> errors(static_cast<size_t>(K));
  std::vector<std::thread> threads;
  for (int m = 0; m < K; ++m) {
    threads.emplace_back([&, m] {
      try {
        fn(m);
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
  std::exception_ptr first;
  for (const auto& err : errors) {
    if (!err) continue;
    try {
      std::rethrow_exception(err);
    } catch (const std::exception& e) {
      if (std::string(e.what()).rfind("in-process group aborted", 0) != 0) std::rethrow_exception(err);
      if (!first) first = err;
    }
  }
  if (first) std::rethrow_exception(first);
}

}  // namespace

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
                                            const EnsembleOptions& options, EnsembleStats* stats,
                                            const EnsembleProgress& progress) {
  DecodeSession session(member, vocab, comm, options);
  return session.decode(policy, prompts, stats, progress);
}

InprocessEnsemble::InprocessEnsemble(std::vector<Member>& members, const UnionVocab& vocab,
                                     const EnsembleOptions& options) {
  const int K = static_cast<int>(members.size());
  RLAE_CHECK(K >= 1, "ensemble: no members");
  // Members on one GPU exchange there; members of one process cannot span devices.
  const at::Device device = members[0].model->options().device;
  for (const Member& m : members)
    RLAE_CHECK(m.model->options().device == device, "ensemble: ", members[0].dir, " runs on ", device.str(),
               " but ", m.dir, " on ", m.model->options().device.str(),
               "; members of one process share one device (one member per GPU: launch with mpirun)");
  group_ = make_inprocess_group(K, device.is_cuda() ? device.index() : -1);
  sessions_.resize(static_cast<size_t>(K));
  run_members(group_, [&](int m) {
    sessions_[static_cast<size_t>(m)] =
        std::make_unique<DecodeSession>(members[static_cast<size_t>(m)], vocab, *group_[static_cast<size_t>(m)], options);
  });
}

InprocessEnsemble::~InprocessEnsemble() = default;

std::vector<EnsembleResult> InprocessEnsemble::decode(const std::vector<WeightPolicy*>& policies,
                                                      const std::vector<EnsemblePrompt>& prompts,
                                                      std::vector<EnsembleStats>* stats, const EnsembleProgress& progress,
                                                      std::vector<std::vector<EnsembleResult>>* per_member) {
  const int K = size();
  RLAE_CHECK(policies.size() == static_cast<size_t>(K), "ensemble: ", policies.size(), " policies for ", K, " members");
  std::vector<std::vector<EnsembleResult>> results(static_cast<size_t>(K));
  std::vector<EnsembleStats> st(static_cast<size_t>(K));
  run_members(group_, [&](int m) {
    const auto i = static_cast<size_t>(m);
    results[i] = sessions_[i]->decode(*policies[i], prompts, &st[i], m == 0 ? progress : EnsembleProgress{});
  });
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

std::vector<EnsembleResult> ensemble_decode_inprocess(std::vector<Member>& members, const UnionVocab& vocab,
                                                      const std::vector<WeightPolicy*>& policies,
                                                      const std::vector<EnsemblePrompt>& prompts,
                                                      const EnsembleOptions& options, std::vector<EnsembleStats>* stats,
                                                      const EnsembleProgress& progress,
                                                      std::vector<std::vector<EnsembleResult>>* per_member) {
  RLAE_CHECK(!members.empty(), "ensemble: no members");
  RLAE_CHECK(policies.size() == members.size(), "ensemble: ", policies.size(), " policies for ", members.size(),
             " members");
  InprocessEnsemble ensemble(members, vocab, options);
  return ensemble.decode(policies, prompts, stats, progress, per_member);
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

}  // namespace rlae
