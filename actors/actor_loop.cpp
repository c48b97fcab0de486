#include "actors/actor_loop.h"

#include "kernels/placement.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <set>

#include "actors/actor_channel.h"
#include "actors/decode_session.h"
#include "actors/rollout.h"
#include "common/channel.h"
#include "common/check.h"
#include "common/log.h"
#include "common/stop_signal.h"
#include "kernels/placement.h"

namespace rlae {
namespace {

using Clock = std::chrono::steady_clock;

// Everything an actor sets up before its loop.
struct ActorSetup {
  std::unique_ptr<ActorChannel> channel;
  std::unique_ptr<Member> member;
  std::vector<Problem> data;     // the training problems (each checked to fit the member's context)
  at::Device device = at::kCPU;  // where the member computes (kernels/placement.h)
};

// The group's exchange: NCCL when its members are on GPUs, MPI otherwise. Every
// member of the group must agree (one collective decides before NCCL starts).
std::unique_ptr<Communicator> make_group_communicator(MPI_Comm group_comm, const at::Device& device) {
  int flags[2] = {device.is_cuda() ? 1 : 0, device.is_cuda() ? 0 : 1};  // any cuda, any cpu
  RLAE_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, flags, 2, MPI_INT, MPI_MAX, group_comm));
  RLAE_CHECK(!(flags[0] && flags[1]), "the members of an ensemble group must all be on GPUs or all on "
             "the CPU (this rank: ", device.str(), "); give every node GPUs or use --device cpu");
  if (!device.is_cuda()) return make_mpi_communicator(group_comm);
  // NCCL wants one GPU per rank: members sharing a GPU (more actors than GPUs on a
  // node) exchange over MPI from host buffers instead.
  const auto places = gather_strings(group_comm, local_host_name() + " " + device.str());
  std::set<std::string> distinct(places.begin(), places.end());
  if (distinct.size() < places.size()) {
    int r = 0;
    MPI_Comm_rank(group_comm, &r);
    if (r == 0)
      RLAE_LOG(info, "train: members of a group share a GPU; their exchange goes over MPI (NCCL needs one GPU each)");
    return make_mpi_communicator(group_comm);
  }
  return make_nccl_communicator(group_comm, device.index());
}

// Set-up that can fail on one rank, then one collective so that no rank waits
// for a dead one. Returns 1 (started), 0 (an error) or -1 (a bad option value
// somewhere: every rank exits 2), agreed by every rank.
int start_actor(const ActorConfig& cfg, const DistributedConfig& dist, const MpiSession& mpi,
                const ChannelEndpoints& ep, int64_t member, ActorSetup& out) {
  const int rank = mpi.topology().rank;
  int started = 1;
  try {
    out.channel = std::make_unique<ActorChannel>(ep, rank, mpi.topology().host, dist.channel);
    ModelOptions mo = cfg.model;
    const Placement place = place_device_here(parse_device_request(mo.placement), mpi.topology().local_rank,
                                              "rank " + std::to_string(rank) + " on " + mpi.topology().host);
    mo.device = place.cuda ? at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(place.index)) : at::Device(at::kCPU);
    out.device = mo.device;
    mo.num_slots = std::max<int64_t>(1, std::min<int64_t>(cfg.slots, cfg.rollout.prompts_per_iteration));
    out.member = std::make_unique<Member>(load_member(cfg.members[static_cast<size_t>(member)], mo));
    out.data = load_training_problems(cfg.train_data, cfg.families);
    check_prompts_fit(*out.member, out.data, cfg.train_data, cfg.ensemble.max_new_tokens);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "rlae train: rank %d on %s: %s\n", rank, mpi.topology().host.c_str(), e.what());
    started = -1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rlae train: rank %d on %s: error: %s\n", rank, mpi.topology().host.c_str(), e.what());
    started = 0;
  }
  RLAE_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &started, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
  return started;
}

UnionVocab group_vocab(const ActorConfig& cfg) {
  std::vector<VocabMember> vms;
  for (const auto& d : cfg.members) {
    const ModelConfig mc = ModelConfig::from_dir(d);
    vms.push_back({Tokenizer::from_file(d + "/tokenizer.json"),
                   std::vector<int32_t>(mc.eos_token_ids.begin(), mc.eos_token_ids.end())});
  }
  return UnionVocab::load_or_build(vms, cfg.out + "/cache");
}

// Member 0: parameters for `iteration` (within the lag bound, the newest it
// has); returns whether the learner stopped the run. Seconds waited in `waited`.
bool next_params(ActorChannel& channel, const DistributedConfig& dist, AgentSet& agents, int64_t& version,
                 int64_t iteration, double& waited) {
  const auto t0 = Clock::now();
  try {
    std::optional<PolicyParams> p = channel.poll_params();
    const int64_t need = iteration - dist.max_policy_lag;
    if ((!p || static_cast<int64_t>(p->version) < need) && version < need) {
      p = channel.wait_for_version(static_cast<uint64_t>(need), dist.channel.dead_after_ms);
    }
    if (p && static_cast<int64_t>(p->version) > version) {
      agents.load(p->tensors);
      version = static_cast<int64_t>(p->version);
    }
  } catch (const ChannelShutdown& e) {
    if (e.failure() || e.reason() != kTrainingFinished) throw;  // a stop: group_continues says so
    return true;
  }
  waited = std::chrono::duration<double>(Clock::now() - t0).count();
  return false;
}

// What member 0 tells its group before every parameter hand-over.
enum GroupSignal : int64_t { kGoOn = 0, kFinished = 1, kFailed = 2, kStopped = 3 };

// Member 0's signal to its group; a failure or shutdown seen by member 0
// reaches every member (no member is left waiting in a collective), then
// member 0 rethrows what it caught.
bool group_continues(Communicator& comm, const std::function<bool()>& lead_step) {
  int64_t signal = kGoOn;
  std::exception_ptr error;
  if (comm.rank() == 0) {
    try {
      signal = lead_step() ? kGoOn : kFinished;
    } catch (const ChannelShutdown& e) {
      signal = e.failure() ? kFailed : e.reason() == kTrainingFinished ? kFinished : kStopped;
      if (signal != kFinished) error = std::current_exception();
    } catch (...) {
      signal = kFailed;
      error = std::current_exception();
    }
  }
  signal = broadcast_host(comm, signal, 0);
  if (error) std::rethrow_exception(error);
  if (signal == kFailed) throw ChannelShutdown("the group's member 0 stopped after a failure", "the group's member 0 stopped after a failure", /*failure=*/true);
  if (signal == kStopped) throw ChannelShutdown("the learner stopped the run", "the learner stopped the run", /*failure=*/false);
  return signal == kGoOn;
}

// The rollout loop of one actor; its group's member 0 talks to the learner.
void actor_iterations(const ActorConfig& cfg, const DistributedConfig& dist, ActorChannel& channel,
                      DecodeSession& session, Communicator& comm, AgentSet& agents, int64_t group,
                      const std::vector<Problem>& data) {
  int64_t version = 0;
  const bool started = group_continues(comm, [&] {
    const PolicyParams p = channel.wait_for_version(0, dist.channel.dead_after_ms);
    agents.load(p.tensors);
    version = static_cast<int64_t>(p.version);
    return true;
  });
  if (!started) return;
  broadcast_agents(comm, agents, version);
  double waited = 0;
  // The learner's version when it starts is the number of iterations done (resume).
  for (int64_t it = version; it < cfg.iterations; ++it) {
    TrajectoryBatch batch = rollout_member(session, agents, cfg.rollout, data, version, it, group);
    const bool last = it + 1 >= cfg.iterations;
    const bool go_on = group_continues(comm, [&] {
      batch.info.wait_params_seconds = waited;
      channel.send_trajectory(batch, static_cast<uint64_t>(version));
      return !last && !next_params(channel, dist, agents, version, it + 1, waited);
    });
    if (!go_on) break;
    broadcast_agents(comm, agents, version);
  }
}

}  // namespace

int run_actor(const ActorConfig& cfg, const DistributedConfig& dist, const MpiSession& mpi, bool* finished) {
  const int rank = mpi.topology().rank;
  if (finished) *finished = false;
  // The learner writes the checkpoint on a stop; an actor has nothing to save, and
  // one held in a collective by a stopped or dead peer must not keep the job alive.
  exit_after_stop(2000, "rlae train: rank " + std::to_string(rank) + " on " + mpi.topology().host + ": stopping: ");
  const int64_t K = static_cast<int64_t>(cfg.members.size());
  const int64_t group = (rank - 1) / K, member = (rank - 1) % K;
  int setup_code = 0;
  RLAE_MPI_CHECK(MPI_Bcast(&setup_code, 1, MPI_INT, 0, MPI_COMM_WORLD));
  if (setup_code != 0) return setup_code;  // the learner reported the setup error
  MPI_Comm group_comm = MPI_COMM_NULL;
  RLAE_MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, static_cast<int>(group), static_cast<int>(member), &group_comm));
  const ChannelEndpoints ep = exchange_endpoints(MPI_COMM_WORLD, 0, {});
  gather_hosts(MPI_COMM_WORLD);
  ActorSetup setup;
  if (const int started = start_actor(cfg, dist, mpi, ep, member, setup); started != 1) return started < 0 ? 2 : 1;
  gather_strings(MPI_COMM_WORLD, setup.device.str());  // the learner prints rank -> host -> device
  ActorChannel& channel = *setup.channel;
  try {
    const UnionVocab vocab = group_vocab(cfg);
    auto comm = make_group_communicator(group_comm, setup.device);
    DecodeSession session(*setup.member, vocab, *comm, cfg.ensemble);
    int64_t width = session.obs_width();
    RLAE_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &width, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD));
    AgentSet agents = AgentSet::create(cfg.algo, K, width, cfg.agent_hidden, cfg.seed, cfg.agent_obs);
    actor_iterations(cfg, dist, channel, session, *comm, agents, group, setup.data);
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
  if (finished) *finished = true;
  return 0;
}

}  // namespace rlae
