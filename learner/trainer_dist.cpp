#include "learner/trainer_dist.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>

#include "actors/actor_channel.h"
#include "common/check.h"
#include "common/log.h"
#include "common/prompt.h"
#include "learner/learner_channel.h"
#include "learner/replay.h"

namespace rlae {
namespace {

using Clock = std::chrono::steady_clock;

// The agents' parameters from group member 0 to the others (one version per rollout).
void broadcast_params(AgentSet& agents, int64_t& version, MPI_Comm group) {
  RLAE_MPI_CHECK(MPI_Bcast(&version, 1, MPI_INT64_T, 0, group));
  for (auto& [name, t] : agents.named_parameters()) {
    at::Tensor c = t.detach().contiguous();
    RLAE_ASSERT(c.data_ptr() == t.data_ptr(), "agent parameter ", name, " is not contiguous");
    RLAE_MPI_CHECK(MPI_Bcast(c.data_ptr<float>(), static_cast<int>(c.numel()), MPI_FLOAT, 0, group));
  }
}

int run_learner(const TrainConfig& cfg, const DistributedConfig& dist, const MpiSession& mpi, int64_t K,
                const TrainProgress& progress) {
  const int world = mpi.topology().size;
  // Everything checkable before work starts; a failure here reaches every rank.
  std::string setup_error;
  try {
    prepare_run_dirs(cfg);
    load_training_problems(cfg);
  } catch (const Error& e) {
    setup_error = e.what();
  }
  int ok = setup_error.empty();
  RLAE_MPI_CHECK(MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD));
  RLAE_CHECK(ok, setup_error);

  // Actors split the world into groups; the learner takes no group.
  MPI_Comm none;
  RLAE_MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, MPI_UNDEFINED, 0, &none));
  LearnerChannel channel(0, dist.channel);
  exchange_endpoints(MPI_COMM_WORLD, 0, channel.endpoints());
  const auto hosts = gather_hosts(MPI_COMM_WORLD);
  for (int r = 1; r < world; ++r) channel.expect_actor(r, hosts[static_cast<size_t>(r)]);
  // Every actor loaded its member (the failing one has printed why).
  int actors_ok = 1;
  RLAE_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &actors_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
  if (!actors_ok) {
    std::fprintf(stderr, "rlae train: an actor rank failed to start (see its message); stopping\n");
    return 1;
  }
  // Observation width: the widest agent_observation_width() of the members.
  int64_t width = 0;
  RLAE_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &width, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD));
  PpoLearner learner(AgentSet::create(cfg.algo, K, width, cfg.agent_hidden, cfg.seed), cfg.ppo);
  const std::string fingerprint = members_fingerprint(cfg.members);
  int64_t updates = 0, version = 0;
  if (cfg.resume) std::tie(updates, version) = resume_learner(cfg, learner, fingerprint);
  channel.publish_params(static_cast<uint64_t>(version), learner.agents().named_parameters());

  std::ofstream metrics(cfg.out + "/metrics.jsonl", cfg.resume ? std::ios::app : std::ios::trunc);
  RLAE_CHECK(metrics.good(), cfg.out, "/metrics.jsonl: cannot write");
  auto last_t = Clock::now();
  auto fail = [&](const std::string& why) {
    write_checkpoint(cfg, learner, updates, version, fingerprint);
    channel.broadcast_shutdown(why, /*failure=*/true);
    std::fprintf(stderr, "rlae train: %s; checkpoint saved at iteration %lld\n", why.c_str(),
                 static_cast<long long>(updates));
    return 1;
  };
  while (updates < cfg.iterations) {
    const auto lost = channel.dead_actors();
    if (!lost.empty()) return fail("lost " + describe(lost.front()));
    auto msg = channel.recv(200);
    if (!msg) continue;
    if (msg->type == wire::MsgType::failure) {
      return fail("rank " + std::to_string(msg->sender) + " on " + msg->host + " failed: " + msg->reason);
    }
    TrajectoryBatch& batch = msg->batch;
    batch.values = learner.values(batch.share_obs);
    const PpoStats st = learner.update(batch);
    ++updates;
    ++version;
    channel.publish_params(static_cast<uint64_t>(version), learner.agents().named_parameters());
    if (cfg.write_replay) {
      char name[64];
      std::snprintf(name, sizeof(name), "/replay/shard-%06lld.h5", static_cast<long long>(updates - 1));
      write_replay_shard(cfg.out + name, batch, {cfg.config_hash, cfg.out, agent_algo_name(cfg.algo), updates - 1});
    }
    IterationMetrics m;
    m.iteration = updates;
    m.policy_version = version;
    set_update_metrics(m, batch, st);
    m.policy_lag = version - 1 - static_cast<int64_t>(msg->policy_version);
    m.seconds = std::chrono::duration<double>(Clock::now() - last_t).count();
    last_t = Clock::now();
    m.episodes_per_s = m.episodes / std::max(m.seconds, 1e-9);
    for (const auto& t : batch.text) m.tokens += static_cast<int64_t>(t.size());  // bytes of answers
    m.tokens_per_s = m.tokens / std::max(m.seconds, 1e-9);
    metrics << m.to_json() << "\n";
    metrics.flush();
    if (updates % cfg.checkpoint_every == 0 || updates == cfg.iterations) {
      write_checkpoint(cfg, learner, updates, version, fingerprint);
    }
    if (progress) progress(m);
  }
  channel.broadcast_shutdown("training finished", /*failure=*/false);
  return 0;
}

int run_actor(const TrainConfig& cfg, const DistributedConfig& dist, const MpiSession& mpi, int64_t K) {
  const int rank = mpi.topology().rank;
  const int64_t group = (rank - 1) / K, member = (rank - 1) % K;
  int ok = 0;
  RLAE_MPI_CHECK(MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD));
  if (!ok) return 1;  // the learner reported the setup error
  MPI_Comm group_comm = MPI_COMM_NULL;
  RLAE_MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, static_cast<int>(group), static_cast<int>(member), &group_comm));
  const ChannelEndpoints ep = exchange_endpoints(MPI_COMM_WORLD, 0, {});
  gather_hosts(MPI_COMM_WORLD);
  // Set-up that can fail, then one collective so that no rank waits for a dead one.
  std::unique_ptr<ActorChannel> channel_ptr;
  std::unique_ptr<Member> me;
  int started = 1;
  try {
    channel_ptr = std::make_unique<ActorChannel>(ep, rank, mpi.topology().host, dist.channel);
    ModelOptions mo = cfg.model;
    mo.num_slots = std::max<int64_t>(1, std::min<int64_t>(cfg.slots, cfg.prompts_per_iteration));
    me = std::make_unique<Member>(load_member(cfg.members[static_cast<size_t>(member)], mo));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rlae train: rank %d on %s: error: %s\n", rank, mpi.topology().host.c_str(), e.what());
    started = 0;
  }
  RLAE_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &started, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
  if (!started) return 1;
  ActorChannel& channel = *channel_ptr;
  try {
    int64_t width = agent_observation_width(me->model->config().hidden_size);
    RLAE_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &width, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD));
    std::vector<VocabMember> vms;
    for (const auto& d : cfg.members) {
      const ModelConfig mc = ModelConfig::from_dir(d);
      vms.push_back({Tokenizer::from_file(d + "/tokenizer.json"),
                     std::vector<int32_t>(mc.eos_token_ids.begin(), mc.eos_token_ids.end())});
    }
    const UnionVocab vocab = UnionVocab::build(vms);
    const std::vector<Problem> data = load_training_problems(cfg);
    auto comm = make_mpi_communicator(group_comm);
    AgentSet agents = AgentSet::create(cfg.algo, K, width, cfg.agent_hidden, cfg.seed);
    int64_t version = 0;
    if (member == 0) {
      const PolicyParams p = channel.wait_for_version(0, dist.channel.dead_after_ms);
      agents.load(p.tensors);
      version = static_cast<int64_t>(p.version);
    }
    broadcast_params(agents, version, group_comm);
    for (int64_t it = 0;; ++it) {
      const std::vector<const Problem*> problems = sample_problems(cfg, data, it + version * 1000003, group);
      std::vector<EnsemblePrompt> prompts;
      for (const Problem* p : problems) prompts.push_back({format_prompt(p->question), p->task});
      AgentPolicy policy(agents, /*sample=*/true, cfg.seed * 7919 + static_cast<uint64_t>(it) * 131 + static_cast<uint64_t>(group),
                         /*record=*/member == 0);
      const auto results = ensemble_decode(*me, vocab, *comm, policy, prompts, cfg.ensemble);
      int stop = 0;
      if (member == 0) {
        const auto outcomes = score_episodes(cfg, problems, results);
        try {
          channel.send_trajectory(build_trajectories(policy.take_records(), outcomes, version),
                                  static_cast<uint64_t>(version));
          // New parameters, within the lag bound.
          auto p = channel.sync_policy(static_cast<uint64_t>(version), static_cast<uint64_t>(dist.max_policy_lag),
                                       dist.channel.dead_after_ms);
          if (!p) p = channel.poll_params();
          if (p) {
            agents.load(p->tensors);
            version = static_cast<int64_t>(p->version);
          }
        } catch (const ChannelShutdown& e) {
          if (e.failure()) throw;
          stop = 1;
        }
      }
      RLAE_MPI_CHECK(MPI_Bcast(&stop, 1, MPI_INT, 0, group_comm));
      if (stop) break;
      broadcast_params(agents, version, group_comm);
    }
    channel.close("done");
  } catch (const ChannelShutdown& e) {
    std::fprintf(stderr, "rlae train: rank %d on %s: stopping: %s\n", rank, mpi.topology().host.c_str(),
                 e.reason().c_str());
    return e.failure() ? 1 : 0;
  } catch (const std::exception& e) {
    // Tell the learner (it ends the job for everyone), then fail here.
    try {
      channel.report_failure(e.what());
    } catch (...) {
    }
    throw;
  }
  MPI_Comm_free(&group_comm);
  return 0;
}

}  // namespace

int train_distributed(const TrainConfig& cfg, const DistributedConfig& dist, const MpiSession& mpi,
                      const TrainProgress& progress) {
  const int world = mpi.topology().size;
  const int64_t K = static_cast<int64_t>(cfg.members.size());
  RLAE_CHECK(K >= 2, "train: an ensemble needs at least 2 members, got ", K);
  RLAE_CHECK(world >= 1 + K && (world - 1) % K == 0, "train: ", world, " MPI ranks do not fit 1 learner + G groups of ",
             K, " members (use -np ", 1 + K, ", ", 1 + 2 * K, ", ...)");
  dist.channel.validate();
  if (mpi.topology().rank == 0) return run_learner(cfg, dist, mpi, K, progress);
  return run_actor(cfg, dist, mpi, K);
}

}  // namespace rlae
