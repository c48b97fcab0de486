// Distributed decoding equals single-process decoding, token for token: K MPI
// ranks (one member each) against K threads of the in-process group, on members
// with different tokenizers, for a fixed weight vector and a per-span schedule.
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <cstdlib>

#include "../unit/ensemble_fixtures.h"
#include "actors/ensemble.h"
#include "common/fs.h"
#include "common/mpi_env.h"

namespace rlae {
namespace {

class EnsembleMpi : public ::testing::Test {
 protected:
  void SetUp() override {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &K_);
    // One directory for the job, named by rank 0.
    int pid = static_cast<int>(::getpid());
    MPI_Bcast(&pid, 1, MPI_INT, 0, MPI_COMM_WORLD);
    dir_ = ::testing::TempDir() + "rlae_ens_mpi_" + std::to_string(pid);
    if (rank_ == 0) {
      ASSERT_EQ(std::system(("mkdir -p " + dir_).c_str()), 0);
      const auto bl = testing::byte_level_tokenizer({{"a", "b"}, {"\xC4\xA0", "t"}, {"1", "2"}});
      const auto sp = testing::metaspace_tokenizer({{"\xE2\x96\x81", "a"}, {"t", "h"}});
      for (int m = 0; m < K_; ++m) {
        const std::string d = dir_ + "/m" + std::to_string(m);
        ASSERT_EQ(std::system(("mkdir -p " + d).c_str()), 0);
        testing::write_member(d, m % 2 == 0 ? bl : sp, m % 2 == 0 ? 0 : 2, 10 + m);
      }
      write_file_atomic(dir_ + "/schedule.txt",
                        "* span:0 " + weights(0) + "\n* span:2 " + weights(1) + "\nmul span:1 " + weights(2) + "\n");
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
  void TearDown() override {
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank_ == 0) std::system(("rm -rf " + dir_).c_str());
  }
  // A weight vector over K members that differs by `variant`.
  std::string weights(int variant) const {
    std::string w;
    for (int m = 0; m < K_; ++m) w += (m ? "," : "") + std::to_string(1 + (m + variant) % K_);
    return w;
  }
  ModelOptions options() const {
    ModelOptions o;
    o.num_slots = 2;  // fewer slots than prompts: continuous batching across the group
    o.max_seq_len = 128;
    return o;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (int m = 0; m < K_; ++m) n.push_back(dir_ + "/m" + std::to_string(m));
    return n;
  }
  static std::vector<EnsemblePrompt> prompts() {
    return {{"Question: 12 + 7?\nAnswer:", "add"}, {"Question: 3 * 4?\nAnswer:", "mul"},
            {"the test", "add"}, {"ab", "mul"}, {"1212 thirty", ""}};
  }

  void check_policy(const std::string& spec) {
    EnsembleOptions opt;
    opt.max_new_tokens = 24;
    opt.top_k = 6;
    std::vector<Member> mine;
    mine.push_back(load_member(names()[rank_], options()));
    // Every rank builds the union over all members' tokenizers (no weights needed).
    std::vector<VocabMember> vm;
    for (int m = 0; m < K_; ++m) {
      const std::string cfg_dir = names()[static_cast<size_t>(m)];
      vm.push_back({Tokenizer::from_file(cfg_dir + "/tokenizer.json"), {m % 2 == 0 ? 0 : 2}});
    }
    const UnionVocab vocab = UnionVocab::build(vm);
    auto comm = make_mpi_communicator(MPI_COMM_WORLD);
    auto policy = make_policy(spec, names());
    const auto dist = ensemble_decode(mine[0], vocab, *comm, *policy, prompts(), opt);

    // Rank 0: the same work single-process (K threads), compared token for token.
    int ok = 1;
    if (rank_ == 0) {
      std::vector<Member> members;
      for (const auto& n : names()) members.push_back(load_member(n, options()));
      const auto local = ensemble_decode_inprocess(
          members, vocab, [&](int) { return make_policy(spec, names()); }, prompts(), opt);
      for (size_t i = 0; i < local.size(); ++i) {
        EXPECT_EQ(dist[i].tokens, local[i].tokens) << spec << " prompt " << i;
        EXPECT_EQ(dist[i].text, local[i].text) << spec << " prompt " << i;
        EXPECT_EQ(dist[i].decisions, local[i].decisions) << spec << " prompt " << i;
        if (dist[i].tokens != local[i].tokens) ok = 0;
      }
    }
    // Every rank holds the same tokens as rank 0.
    for (size_t i = 0; i < dist.size(); ++i) {
      int n = static_cast<int>(dist[i].tokens.size());
      int n0 = n;
      MPI_Bcast(&n0, 1, MPI_INT, 0, MPI_COMM_WORLD);
      ASSERT_EQ(n, n0) << "rank " << rank_ << " prompt " << i;
      std::vector<int32_t> t0 = dist[i].tokens;
      MPI_Bcast(t0.data(), n0, MPI_INT32_T, 0, MPI_COMM_WORLD);
      EXPECT_EQ(t0, dist[i].tokens) << "rank " << rank_ << " prompt " << i;
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    EXPECT_TRUE(ok);
  }

  int rank_ = 0, K_ = 1;
  std::string dir_;
};

TEST_F(EnsembleMpi, FixedWeightsMatchSingleProcess) { check_policy("weights:" + weights(0)); }

TEST_F(EnsembleMpi, ScheduleMatchesSingleProcess) { check_policy("schedule:" + dir_ + "/schedule.txt"); }

}  // namespace
}  // namespace rlae
