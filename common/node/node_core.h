#pragma once
// The node core: everything one host knows and decides, as a sans-IO object (no
// sockets, clock or threads; callers pass `now`). It owns
//   - each tenant's shape model, learned tick by tick from its measured usage;
//   - the host's view of itself: per day slot, the sum of its current tenants' means
//     and a spread whose cross terms use the co-movement measured among them, so the
//     view follows arrivals and departures at once (docs/admission.md "Host view");
//   - the measured aggregate, against which the view is calibrated: the margin
//     calibrator's tail, the tenants' co-movement, the aggregate's residual sketch;
//   - reservations: admissions a scheduler committed to that no tick has shown yet;
//   - what peers said: their host adverts and the function summaries they gossiped;
// and answers admit, rank and place with explanations. antiphased wraps it with the
// sampler, registry, HTTP and ZeroMQ; antiphase-replay and the fleet simulator run one
// per simulated host. The rule lives here and in common/admission, nowhere else.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/admission/decision.h"
#include "common/admission/margin_calibrator.h"
#include "common/admission/policy.h"
#include "common/node/comovement.h"
#include "common/node/host_advert.h"
#include "common/node/node_config.h"
#include "common/node/relief.h"
#include "common/shape/shape_model.h"
#include "common/shape/summary.h"

namespace antiphase::node {

inline constexpr double kReservationTimeoutS = 300.0;
// How soon after this host named a tenant to move (relief) its leaving counts as the
// platform acting on it: a move is a stop here and a start elsewhere.
inline constexpr double kReliefFollowedWithinS = 900.0;
// How long a measured overload keeps counting against the host (half-life of the faded
// share of host-time above the limit; see admission::HostView::measured_overload_rate).
inline constexpr double kOverloadHalfLifeS = 86400.0;

// One measurement tick of this host: cores per running function over dt_s seconds
// ending at unix_ms (UTC wall clock of the sample, trace time when replaying).
struct FunctionTick {
  double cores = 0;
  uint32_t instances = 1;
  // Memory, summed over its instances; absent where it could not be measured.
  std::optional<uint64_t> memory_peak_bytes, memory_limit_bytes;
  std::optional<uint64_t> memory_instance_peak_bytes;  // the largest single instance's peak
};
struct Tick {
  int64_t unix_ms = 0;
  double dt_s = 0;
  std::map<std::string, FunctionTick> functions;
  std::optional<uint64_t> memory_total_bytes, memory_available_bytes;  // the host's (/proc/meminfo)
};

// "May n instances of this function join?" Sizes are per instance.
struct AdmitRequest {
  std::string function;
  uint32_t instances = 1;
  std::optional<double> mean_cores, peak_cores;  // for functions nobody has measured
  std::optional<shape::SlotProfile> profile;     // a declared day profile (any slot count)
  std::optional<uint64_t> memory_bytes;          // declared memory per instance (its limit)
};

struct Answer {
  std::string error;  // non-empty: the request itself is unusable (a client error)
  admission::Decision decision;  // memory already folded in (admission::merge_memory)
  admission::MemoryVerdict memory;
  bool ok() const { return error.empty(); }
};

struct PlaceOption {
  std::string node_id, endpoint;
  bool local = false;
  admission::Decision decision;
  admission::MemoryVerdict memory;
};
struct PlaceAnswer {
  std::string error;
  std::vector<PlaceOption> hosts;  // best first (see admission::rank_decisions)
};
struct RankAnswer {
  std::string error;
  std::vector<std::pair<admission::Decision, admission::MemoryVerdict>> ranking;  // best first
};

// What gossip says about one peer right now.
struct PeerUpdate {
  std::string node_id, endpoint;
  bool alive = true;
  std::string advert;     // its encoded HostAdvert (may be empty: not published yet)
};

class NodeCore {
 public:
  NodeCore(NodeConfig config, std::string node_id, std::string endpoint = {});

  // Reload: new rules and capacity, same learned state; z follows a new target rate at once.
  void reconfigure(const NodeConfig& config);
  const NodeConfig& config() const { return config_; }

  // --- measurement ---
  void observe(const Tick& tick, double now_s);
  // A function stopped running here, told before the next tick shows it: counted no
  // more from now, as a tick without it would leave it (its model stays). The fleet
  // replay tells a host at once when an instance leaves it (recycled, moved, or after its
  // last sample): its ticks are a trace step (5 minutes) apart, a daemon's a second.
  void departed(const std::string& function);
  // What a host's loop does each tick (the daemon and the fleet replay): hears what
  // gossip says of every function in the tick (hear_gossiped: a function new here starts
  // from its summary), then observes the tick.
  template <typename Lookup>
  void observe(const Tick& tick, double now_s, Lookup&& gossiped) {
    for (const auto& [name, f] : tick.functions) hear_gossiped(name, gossiped);
    observe(tick, now_s);
  }

  // --- what peers said ---
  // False (and nothing stored) when the blob does not decode; `error` says why.
  bool hear_function(const std::string& name, std::string_view summary_blob, std::string* error = nullptr);
  void forget_function(const std::string& name) { heard_.erase(name); }
  // Takes what gossip now says of a function: `lookup(name)` gives the current summary
  // blob, or nothing (a record gone with its author), and then the old one is forgotten.
  // A function this host measures keeps its own model, which still learns from the
  // summary (learn_from_gossip). The daemon and the fleet replay hear summaries only
  // through this.
  template <typename Lookup>
  void hear_gossiped(const std::string& name, Lookup&& lookup) {
    const std::optional<std::string> blob = lookup(name);
    if (measures(name)) {
      if (blob) learn_from_gossip(name, *blob);
    } else if (blob) {
      hear_function(name, *blob);
    } else {
      forget_function(name);
    }
  }
  bool hear_peer(const PeerUpdate& peer, std::string* error = nullptr);
  void forget_peer(const std::string& node_id) { peers_.erase(node_id); }

  // --- questions ---
  Answer admit(const AdmitRequest& request, double now_s) const;
  // admit(), and when accepted, the host counts the candidate (as it was sized) until
  // its own measurements can speak for it: a burst of admissions between two ticks
  // must not each see the same room. A reservation the ticks never confirm lapses
  // after kReservationTimeoutS of the caller's clock.
  Answer admit_and_reserve(const AdmitRequest& request, double now_s);
  RankAnswer rank(const std::vector<AdmitRequest>& candidates, double now_s) const;
  // This host and every live peer that published an advert, each judged as it judges
  // itself (its own aggregate, limit, z and co-movement).
  PlaceAnswer place(const AdmitRequest& request, double now_s) const;
  // The tenant to move when the host has been measured above its capacity for
  // NodeConfig::relief_after_s without a break (relief.h); nothing otherwise.
  std::optional<Relief> relief() const;
  // Unbroken time the host has been measured above its capacity (0 when under).
  double over_capacity_s() const { return relief_watch_.over_s(); }
  // Whether the platform has been seen to act on relief: a function this host named
  // left, or ran fewer instances, within kReliefFollowedWithinS (or a peer's advert
  // said so; the platform is the same for the fleet). From then on, and across
  // restarts, shape.highest_window applies (with shape.highest_window_after_relief):
  // a burst forgotten too early costs a move, not an overload that stays.
  bool relief_followed() const { return relief_followed_; }

  // --- what we tell peers ---
  // Built on first use after a tick (the replay runs thousands of ticks between questions).
  const std::string& advert_blob() const;  // empty before the first tick
  const HostAdvert& advert() const;        // as peers decode it
  // Gossip summary of a function measured here.
  shape::Summary summary_of(const std::string& function, uint64_t version) const;

  // --- state ---
  std::string save_state() const;
  bool load_state(std::string_view bytes, std::string* error);

  // --- introspection (read-only) ---
  const std::string& node_id() const { return node_id_; }
  const std::map<std::string, shape::ShapeModel>& models() const { return models_; }
  const shape::ShapeModel& host_model() const { return host_model_; }
  const admission::MarginCalibrator& calibrator() const { return calibrator_; }
  CoMovementEstimate comovement() const;
  // Faded share of host-time this host was measured above its limit.
  double measured_overload_rate() const { return measured_s_ > 0 ? over_limit_s_ / measured_s_ : 0.0; }
  // Average pairwise co-movement of the tenants' deviations (the view's cross terms).
  CoMovementEstimate pairwise_comovement() const;
  size_t reservations() const;
  // Functions in the last tick, with their instances.
  std::map<std::string, uint32_t> running() const;
  // Whether this host measured the function within a day of its newest tick: its model
  // here then speaks for it; otherwise a gossiped summary, when there is one, is the
  // fresher word (and the model resumes from it when the function comes back).
  bool measures(const std::string& name) const;
  double capacity_cores() const { return config_.capacity_cores; }
  double limit_cores() const { return config_.policy.target_utilisation * config_.capacity_cores; }
  std::optional<double> last_tick_s() const { return last_tick_s_; }
  size_t peers_known() const { return peers_.size(); }
  size_t functions_heard() const { return heard_.size(); }
  // Decoded summaries dropped to stay within NodeConfig::max_heard_functions.
  uint64_t heard_forgotten() const { return heard_forgotten_; }
  const NewcomerSizing& newcomers() const { return newcomers_; }
  // Correlation of two local functions' mean shapes (nullopt if either is unknown here).
  std::optional<shape::CorrelationEstimate> shape_correlation(const std::string& a, const std::string& b) const;
  std::optional<shape::CorrelationEstimate> shape_correlation_with_host(const std::string& function) const;

 private:
  struct Candidate;
  struct Tenant;
  // A tenant's day profile in the host view, and whether it is a measured one.
  shape::SlotProfile tenant_profile(const std::string& name, const Tenant& t) const;
  double tenant_highest(const std::string& name, const Tenant& t) const;
  void resume_model(const std::string& name, shape::ShapeModel& model, uint32_t instances, int64_t unix_s) const;
  void learn_from_gossip(const std::string& name, std::string_view blob);
  struct SlotView {
    double mean = 0, spread = 0;
  };
  SlotView slot_view(int64_t unix_s) const;  // the view at one slot, before this tick is learned
  // A host to judge a candidate on: a view into this core's state (its own advert or a
  // peer's), valid until the core changes. A decision copies nothing per host it judges.
  struct Target {
    const HostAdvert* advert = nullptr;
    const shape::FoldEmbedding* embedding = nullptr;
    double telemetry_age_s = 0;
    bool local = false;  // judged with this host's own memory figures, not a gossiped free figure
  };
  struct Peer {
    std::string endpoint;
    bool alive = true;
    std::string blob;
    std::optional<HostAdvert> advert;  // decoded from blob
    // Computed at the first decision that judges this peer: peers re-send adverts far
    // more often than a host is asked to place anything.
    mutable std::optional<shape::FoldEmbedding> embedding;
  };
  Target peer_target(const Peer& peer) const;

  Answer candidate_for(const AdmitRequest& request, Candidate* out) const;
  void scale_request_by_newcomers(admission::Candidate& c) const;
  // The CPU rule and the memory guard on one host, memory folded into the decision.
  std::pair<admission::Decision, admission::MemoryVerdict> decide_on(const Target& target, const Candidate& candidate) const;
  admission::HostMemory host_memory() const;
  admission::HostMemory compute_host_memory() const;
  admission::CoMovement comovement_for(const Target& target, const Candidate& candidate,
                                       const admission::Correlation& shape_corr) const;
  Target local_target(double now_s) const;
  void calibrate(int64_t unix_s, double total_cores, double dt_s);
  bool busy_slot(int64_t unix_s, const SlotView& v) const;
  void learn_tenants(const Tick& tick, int64_t unix_s, double host_residual);
  void expire_reservations(double now_s);
  void watch_newcomers(const Tick& tick, int64_t unix_s);
  shape::ShapeModel new_model(const std::string& name, uint32_t instances, int64_t unix_s) const;
  void refresh_advert() const;
  // Relief: the last tenant named, and whether the platform was seen to act on it.
  void watch_relief(const Tick& tick, int64_t unix_s);
  void open_highest_window();

  NodeConfig config_;
  std::string node_id_, endpoint_;
  admission::AdmissionPolicy policy_;
  admission::MarginCalibrator calibrator_;
  std::map<std::string, shape::ShapeModel> models_;  // every function measured here, running or not
  shape::ShapeModel host_model_;
  struct Tenant {  // a function that runs here, ran here lately, or was reserved
    uint32_t instances = 1;
    bool running = false;   // in the last tick (and not departed since)
    int64_t last_seen_s = 0;
    CoMovementSums comovement;
    std::optional<shape::SlotProfile> reserved;  // as admitted, until measurements speak
    bool reserved_blind = false;                 // ...sized from the request, nothing measured
    double reserved_at_s = 0;                    // caller's clock
    bool confirmed = false;                      // a tick has shown it since the reservation
    // More instances of a function already running here, counted on top of its model
    // until kReservationTimeoutS has passed (the model then shows them, lagging).
    std::optional<shape::SlotProfile> extra;
    double extra_at_s = 0;
    admission::TenantMemory memory;                // as last measured
    std::optional<uint64_t> instance_peak_bytes;   // its largest instance's peak here
    std::optional<uint64_t> reserved_memory_bytes; // what it was admitted with, until measured
  };
  std::map<std::string, Tenant> tenants_;
  std::optional<uint64_t> memory_total_bytes_, memory_available_bytes_;
  NewcomerSizing newcomers_;  // what functions admitted blind turned out to use
  // Pairwise co-movement sums: (Σ r)², Σ r², (Σ σ)² − Σ σ² over ticks, faded.
  double pair_total_ = 0, pair_own_ = 0, pair_norm_ = 0, pair_weight_s_ = 0;
  std::optional<double> last_tick_s_;               // caller's clock at the last tick (staleness)
  // Host-time measured above the limit, and all host-time, faded with kOverloadHalfLifeS.
  double over_limit_s_ = 0, measured_s_ = 0;
  ReliefWatch relief_watch_;  // unbroken time above capacity and what ran then (relief.h)
  struct NamedRelief {
    std::string function;
    uint32_t instances = 1;
    int64_t unix_s = 0;
  };
  std::optional<NamedRelief> named_relief_;  // the tenant relief() named last, while it may still leave
  bool relief_followed_ = false;
  mutable int64_t busy_slot_index_ = -1;            // busy_slot()'s cache
  mutable double busy_threshold_ = 0;

  // Decoded from advert_blob_: what peers see and what we decide on. A cache of the
  // models above, rebuilt lazily when advert_stale_.
  mutable HostAdvert advert_;
  mutable HostAdvert unmeasured_advert_;  // local_target() before the first tick
  mutable std::string advert_blob_;
  mutable shape::FoldEmbedding advert_embedding_;
  mutable bool advert_stale_ = false;
  mutable admission::HostMemory host_memory_;

  // A gossiped summary, decoded once when heard: decisions read it many times.
  struct Heard {
    shape::Summary summary;
    shape::SlotProfile day;      // reconstructed, per instance (not shifted)
    shape::Embedding embedding;
    shape::ResidualSketch sketch;
    double shift = 0;            // its recent level shift (per function total)
    uint64_t heard_seq = 0;      // when it was last heard, in hear_function calls
  };
  std::map<std::string, Heard> heard_;
  uint64_t hear_seq_ = 0, heard_forgotten_ = 0;
  void forget_least_recently_heard();
  // Per function measured here, a hash of the gossip record learn_from_gossip last read
  // (it runs every tick; a record changes only when some host republishes).
  std::map<std::string, uint64_t> gossip_read_;
  std::map<std::string, Peer> peers_;
};

}  // namespace antiphase::node
