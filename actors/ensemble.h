// The ensemble over K members: one call of the decode session
// (actors/decode_session.h) on one member's rank, and the in-process group
// that runs the K members' sessions on K threads of this process (`rlae eval`,
// tests, single-process training).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/communicator.h"
#include "actors/decode_session.h"
#include "actors/member.h"
#include "actors/policy.h"
#include "common/vocab.h"

namespace rlae {

// Member m's side of the group for one call (builds a session each time; loops
// that decode repeatedly keep a DecodeSession instead).
std::vector<EnsembleResult> ensemble_decode(Member& member, const UnionVocab& vocab, Communicator& comm,
                                            WeightPolicy& policy, const std::vector<EnsemblePrompt>& prompts,
                                            const EnsembleOptions& options, EnsembleStats* stats = nullptr,
                                            const EnsembleProgress& progress = {});

using PolicyFactory = std::function<std::unique_ptr<WeightPolicy>(int member)>;

// K threads over an in-process group, member m steered by policies[m] (owned
// by the caller, one per member since policies keep per-member state).
std::vector<EnsembleResult> ensemble_decode_inprocess(std::vector<Member>& members, const UnionVocab& vocab,
                                                      const std::vector<WeightPolicy*>& policies,
                                                      const std::vector<EnsemblePrompt>& prompts,
                                                      const EnsembleOptions& options,
                                                      std::vector<EnsembleStats>* stats = nullptr,
                                                      const EnsembleProgress& progress = {},
                                                      std::vector<std::vector<EnsembleResult>>* per_member = nullptr);

// The same with policies made by `make_policy(m)` for this call only.
// Returns member 0's results (all agree)
// and, if asked, every member's stats. A failure on one thread ends all of
// them and is rethrown here.
std::vector<EnsembleResult> ensemble_decode_inprocess(std::vector<Member>& members, const UnionVocab& vocab,
                                                      const PolicyFactory& make_policy,
                                                      const std::vector<EnsemblePrompt>& prompts,
                                                      const EnsembleOptions& options,
                                                      std::vector<EnsembleStats>* stats = nullptr,
                                                      const EnsembleProgress& progress = {},
                                                      std::vector<std::vector<EnsembleResult>>* per_member = nullptr);

// K members' decode sessions on an in-process group, kept across calls (the
// vocabulary views are built once): each decode() runs member m's session on
// its own thread, steered by policies[m]. A failure on one thread ends all of
// them and is rethrown; members must agree on every token (checked).
class InprocessEnsemble {
 public:
  InprocessEnsemble(std::vector<Member>& members, const UnionVocab& vocab, const EnsembleOptions& options);
  ~InprocessEnsemble();
  // Member 0's results (all agree); every member's stats and results if asked.
  std::vector<EnsembleResult> decode(const std::vector<WeightPolicy*>& policies,
                                     const std::vector<EnsemblePrompt>& prompts,
                                     std::vector<EnsembleStats>* stats = nullptr, const EnsembleProgress& progress = {},
                                     std::vector<std::vector<EnsembleResult>>* per_member = nullptr);
  int size() const { return static_cast<int>(sessions_.size()); }
  const DecodeSession& session(int m) const { return *sessions_[static_cast<size_t>(m)]; }

 private:
  std::vector<std::unique_ptr<Communicator>> group_;
  std::vector<std::unique_ptr<DecodeSession>> sessions_;
};

// Members' tokenizers as the union vocabulary needs them (EOS from each model's config).
std::vector<VocabMember> vocab_members(const std::vector<Member>& members);

}  // namespace rlae
