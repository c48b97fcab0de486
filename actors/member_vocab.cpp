#include "actors/member_vocab.h"

#include <ATen/ATen.h>

namespace rlae {

MemberVocabView MemberVocabView::build(const UnionVocab& vocab, int m, int64_t V, const at::Device& device) {
  MemberVocabView view;
  view.member = m;
  view.vocab_size = V;
  const auto& to_union = vocab.member_to_union(m);
  view.to_union.assign(static_cast<size_t>(V), vocab.eos());
  view.banned_ids.assign(static_cast<size_t>(V), 0);
  std::unordered_map<int32_t, std::vector<int32_t>> by_union;
  for (int64_t id = 0; id < V; ++id) {
    const int32_t u = id < static_cast<int64_t>(to_union.size()) ? to_union[static_cast<size_t>(id)] : -1;
    if (u < 0 || (vocab.is_special(u) && u != vocab.eos())) {
      view.banned_ids[static_cast<size_t>(id)] = 1;
    } else {
      view.to_union[static_cast<size_t>(id)] = u;
      by_union[u].push_back(static_cast<int32_t>(id));
    }
  }
  std::vector<int64_t> canon_ids, other_ids;
  for (auto& [u, ids] : by_union) {
    if (ids.size() < 2) continue;
    const int32_t canon = vocab.union_to_member(m)[static_cast<size_t>(u)];
    for (int32_t id : ids) {
      if (id != canon) {
        canon_ids.push_back(canon);
        other_ids.push_back(id);
      }
    }
    view.twins.emplace(u, std::move(ids));
  }
  const auto on = [&](at::Tensor t) { return t.to(device); };
  view.union_map = on(at::tensor(view.to_union, at::kInt));
  view.banned = on(at::tensor(view.banned_ids, at::kByte).to(at::kBool));
  view.twin_canon = on(at::tensor(canon_ids, at::kLong));
  view.twin_other = on(at::tensor(other_ids, at::kLong));
  const at::Tensor read = at::tensor(vocab.read_ids(m), at::kLong);
  view.read_valid = on(read.ge(0));
  view.read_ids = on(read.clamp_min(0));
  return view;
}

}  // namespace rlae
