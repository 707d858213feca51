#pragma once
// GossipAgent: runs the sans-IO gossip protocol over ZeroMQ on a background thread.
// This is the API the daemon uses. All public methods are thread-safe.
//
//   GossipConfig config;  config.bind = "tcp://0.0.0.0:7946"; config.advertise = "tcp://10.0.0.5:7946";
//   config.seeds = {"<z85 key>@tcp://10.0.0.1:7946"}; config.secret_key_file = ...; ...
//   GossipAgent agent(config);       // validates config, loads keys (throws GossipConfigError)
//   agent.start();                   // binds, bumps the persisted generation, starts the thread
//   agent.set_node_state({...});     agent.publish_function("fn", blob);
//   agent.function_summary("fn");    agent.nodes();   agent.stats();
//   agent.take_changes();            // peers changed since the last call (cheap at 10,000 hosts)
//   agent.stop();                    // graceful leave, then joins the thread (also in ~GossipAgent)
//
// With keys, every record this agent writes is signed (Ed25519, with the CURVE secret
// key; see record_signer.h) and every record it accepts is checked against its author's
// allowlisted key. Stats::signing says whether that is on.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent/gossip/gossip_config.h"
#include "common/gossip/membership.h"
#include "common/gossip/protocol_config.h"

namespace antiphase::gossip {
class Protocol;
class RecordAuthority;
}

namespace antiphase::agent::gossip {

class ZmqTransport;
using antiphase::gossip::PeerState;

struct NodeState {
  std::string node_id, endpoint;
  double capacity_cores = 0;
  std::string host_summary;  // opaque
};

struct PeerInfo {
  std::string node_id, endpoint;
  PeerState state = PeerState::Alive;
  double last_heard_s_ago = 0;
  uint64_t generation = 0, max_version = 0;
};

struct Stats {
  bool signing = false;  // records signed and checked (keys configured); false in insecure/keyless mode
  uint64_t generation = 0;
  uint64_t rounds = 0;  // probe periods
  uint64_t msgs_in = 0, msgs_out = 0, bytes_in = 0, bytes_out = 0;
  uint64_t dropped_malformed = 0, dropped_oversize = 0;
  uint64_t refused_auth = 0;      // ZAP: client key not in the allowlist
  uint64_t refused_identity = 0;  // message claims a key other than the authenticated one, or our node id
  uint64_t duplicate_node_id = 0;  // of those: messages from another host using our node id
  uint64_t send_dropped = 0;
  uint64_t records_applied = 0;
  uint64_t records_forged = 0;        // bad signature, or a key that is not the author's allowlisted one
  uint64_t records_stale = 0;         // older than what we hold (replays land here; so do harmless races)
  uint64_t records_unverifiable = 0;  // author's record never arrived
  uint64_t records_rejected = 0, peers_evicted = 0, functions_evicted = 0, purged = 0;
  uint64_t probes_failed = 0, suspicions = 0, refutations = 0, deaths_declared = 0;
  uint64_t local_health = 0;          // Lifeguard: 0 healthy; probing slows (x health + 1) when > 0
  uint64_t peers_alive = 0, peers_suspect = 0, peers_dead = 0, peers_left = 0;
  uint64_t functions = 0;
  uint64_t pulls_given_up = 0;  // records pulled three times in vain (the next comparison finds them again)
  bool caught_up = false;  // the replica caught up with the fleet once since start (Protocol::caught_up)
  // function homes (0 = full replication)
  uint64_t function_homes = 0;
  uint64_t interest_pulls = 0, functions_forgotten = 0, home_news_sent = 0;
  uint64_t state_bytes = 0;  // this agent's replica: records and tables (approximate)
};

// Peers whose node record or liveness changed since the last take_changes(). (Function
// summaries are read when needed, with function_summary(): no feed lists them.)
struct GossipChanges {
  std::vector<std::string> nodes;  // read each with node()
};

class GossipAgent {
 public:
  explicit GossipAgent(GossipConfig config);  // throws GossipConfigError
  ~GossipAgent();
  GossipAgent(const GossipAgent&) = delete;
  GossipAgent& operator=(const GossipAgent&) = delete;

  void start();  // throws GossipConfigError (e.g. bind failure, unwritable state dir)
  void stop();   // graceful leave: tells up to `fanout` peers we left, then stops

  // node_id/endpoint fields are ignored (ours are fixed). May be called before start().
  void set_node_state(const NodeState& state);
  // Last-writer-wins by Lamport order per function. Rate-limiting and "changed
  // significantly" are the caller's decision. False if name/blob exceed the caps or
  // the agent is not started.
  bool publish_function(const std::string& function, std::string summary_blob);

  std::optional<std::string> function_summary(const std::string& function) const;
  // Protocol::caught_up(): false before start() and until the first comparison's records arrived.
  bool caught_up() const;
  // With function homes: this agent needs `function`'s summary (it runs it, or was asked
  // about it), so it keeps it and pulls it from a home when it lacks it or its copy is a
  // minute old. A no-op without homes. Cheap enough to call on every lookup.
  // True when that sent a pull.
  bool want_function(const std::string& function);
  // want_function, then, if that sent a pull for a summary this agent has none of, waits
  // up to `wait` for it (one round trip to a home). Returns it, or nullopt if none came
  // in time (a function no home had is waited for at most once per 5 s).
  std::optional<std::string> fetch_function(const std::string& function, std::chrono::milliseconds wait);
  bool homed() const { return config_.function_homes > 0; }
  std::vector<std::pair<NodeState, PeerInfo>> nodes() const;  // peers, not us; O(members)
  std::optional<std::pair<NodeState, PeerInfo>> node(const std::string& node_id) const;
  std::vector<PeerInfo> peers() const;
  // The change feed: function names and node ids whose records were applied, replaced or
  // removed (or whose liveness changed) since the previous call, each once. The caller then
  // reads the current values (function_summary(), node()); a name whose summary is gone
  // reads as nullopt. Cost is proportional to what changed, not to the fleet: a daemon
  // at 10,000 hosts calls this every tick instead of copying nodes().
  GossipChanges take_changes();
  Stats stats() const;
  const std::string& node_id() const { return config_.node_id; }
  // Our public key as Z85 (empty when running without keys), e.g. to build seed strings.
  std::string public_key_z85() const;

 private:
  void run();
  // Protocol time: seconds since start() minus the time the loop was frozen (see run()).
  double now() const;
  double real_elapsed_s() const;
  // Called by the loop after each poll: a wake-up far later than asked means the process
  // was stopped (SIGSTOP, VM freeze); that stretch is taken out of protocol time.
  void discount_freeze(double loop_gap_s, double asked_wait_s);
  // Warns (at most every kDuplicateWarnIntervalS) while another host uses our node id.
  void warn_on_duplicate_id(double now);

  GossipConfig config_;
  bool secure_ = false;
  std::string public_key_, secret_key_;
  std::vector<std::pair<std::string, std::string>> seeds_;  // endpoint, raw key
  uint64_t generation_ = 0;

  mutable std::mutex mutex_;  // guards protocol_ and transport counters snapshot
  std::unique_ptr<antiphase::gossip::Protocol> protocol_;
  std::optional<NodeState> pending_node_state_;
  std::unique_ptr<ZmqTransport> transport_;  // used by the agent thread only
  std::shared_ptr<const antiphase::gossip::RecordAuthority> authority_;
  Stats transport_snapshot_;                 // transport counters, refreshed by the thread under mutex_
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> running_{false};
  std::chrono::steady_clock::time_point epoch_;
  std::atomic<double> frozen_s_{0};  // total time the loop was frozen, excluded from now()
  uint64_t duplicates_warned_ = 0;   // duplicate_node_id count at the last warning
  double duplicate_warned_at_ = -1e9;
};

}  // namespace antiphase::agent::gossip
