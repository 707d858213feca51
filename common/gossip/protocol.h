#pragma once
// The gossip protocol as a sans-IO state machine: feed it messages and the current time,
// it returns the messages to send and says when it wants to be called next. No sockets,
// no clock, no threads: unit tests and the 10,000-node simulator run exactly the code the
// agent runs.
//
// Cost follows change, not fleet size (docs/gossip.md has the measurements and the
// designs that lost):
//   - Liveness: SWIM. Each agent probes one member per probe interval (PING; if silent,
//     PING_REQ through `indirect_probes` others); a failed probe makes the member Suspect,
//     a suspicion that is not refuted in time makes it Dead. Lifeguard keeps this calm:
//     local health stretches an unhealthy agent's timing, and a suspicion lasts from
//     dead_after_s (nobody confirms it) down to suspect_after_s (several do). Before an
//     unconfirmed suspicion expires the suspector probes once more itself.
//     Refuting = re-signing our node record with a higher version.
//   - Dissemination: every record an agent applies becomes a rumour (key hash + stamp
//     hash, 12 bytes) pushed to `fanout` members per news interval, about ln(n) times in
//     all; receivers pull the records they lack. So each agent receives each change once,
//     plus about ln(n) x 12 bytes of rumour.
//   - Repair: anti-entropy every anti_entropy_interval_s with one member: bucket hashes,
//     then the entries of differing buckets; differences still there after a short
//     settling delay are pulled. With probability 1/(live + 1) per round an agent also
//     runs it with a Dead member or a seed, so partitions heal.
//   - Function homes (config.function_homes = r > 0, for large fleets): a function's
//     record is announced by its writer to its r homes only (function_homes.h), kept
//     there, by its writer and by agents that asked for it (want_function), and nowhere
//     else. Node records still spread to everyone. The writer re-announces to new homes
//     as members come and go (tend_homes); anti-entropy then compares node records only.
// Kept from the Scuttlebutt version: generations (a restart voids the old incarnation's
// records), tombstones for purged members, last-writer-wins per function by Lamport
// stamp, and the caps.
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/gossip/membership.h"
#include "common/gossip/message.h"
#include "common/gossip/protocol_config.h"
#include "common/gossip/record_store.h"
#include "common/gossip/rng.h"
#include "common/gossip/signing.h"

namespace antiphase::gossip {

struct Identity {
  std::string node_id;
  std::string endpoint;    // where our ROUTER is reachable by peers
  std::string public_key;  // 32 raw bytes (CurveZMQ), empty when insecure
  uint64_t generation = 1;
};

struct Seed {
  std::string endpoint;
  std::string public_key;  // 32 raw bytes, empty when insecure
};

struct LocalNodeState {
  double capacity_cores = 0;
  std::string host_summary;  // opaque
};

struct PeerView {
  std::string node_id, endpoint, public_key;
  PeerState state;
  double last_heard_s_ago;   // since a message from it, an ACK, or a newer record of it
  uint64_t generation, max_version;  // its node record's stamp
  double capacity_cores;
  std::string host_summary;
};

struct ProtocolCounters {
  uint64_t rounds = 0;  // probe periods
  uint64_t pings_sent = 0, ping_reqs_sent = 0, acks_sent = 0, nacks_sent = 0;
  uint64_t news_sent = 0, pulls_sent = 0, pushes_sent = 0, anti_entropy_sent = 0;
  uint64_t messages_handled = 0;
  uint64_t messages_ignored = 0;   // no usable sender
  uint64_t duplicate_node_id = 0;  // messages from another node using our node id
  uint64_t refused_identity = 0;   // a member's id used with a key that is not its own
  uint64_t probes_failed = 0, suspicions = 0, refutations = 0, deaths_declared = 0;
  uint64_t purged = 0;
  uint64_t pulls_given_up = 0;  // records pulled kMaxPullAttempts times in vain (anti-entropy finds them again)
  // function homes
  uint64_t home_news_sent = 0;       // NEWS messages addressed to a function's homes
  uint64_t functions_forgotten = 0;  // records dropped because this agent need not keep them
  uint64_t interest_pulls = 0;       // functions pulled from their homes because we were asked about them
};

// Optional hook for tests and the simulator: every liveness change this agent makes.
class ProtocolObserver {
 public:
  virtual ~ProtocolObserver() = default;
  virtual void member_state(uint64_t member_fp, PeerState before, PeerState after, double now) = 0;
};

class Protocol : private MemberListener {
 public:
  // `authority` signs our records and checks everyone's; null = insecure (unsigned).
  Protocol(ProtocolConfig config, Identity self, std::vector<Seed> seeds, uint64_t rng_seed,
           std::shared_ptr<const RecordAuthority> authority = nullptr);
  ~Protocol() override;
  Protocol(const Protocol&) = delete;
  Protocol& operator=(const Protocol&) = delete;

  void set_node_state(const LocalNodeState& state, double now);
  bool publish_function(const std::string& function, std::string summary, double now);
  // With function homes: we need `function`'s record (we run it, or were asked about it).
  // Keeps it for interest_s; pulls it from a home if we lack it or our copy is older than
  // interest_refresh_s (a function it lacks: when last asked for over 5 s ago). Without
  // homes every agent holds every record: nothing to do.
  // True when a pull is now due (the caller may call tick() at once instead of waiting).
  bool want_function(const std::string& function, double now);
  // The live members (self included) that keep `key_hash`'s record; empty without homes.
  std::vector<uint64_t> homes_of(uint64_t key_hash) const;
  bool homed() const { return config_.function_homes > 0; }

  // Runs every timer that is due at `now`.
  std::vector<Outgoing> tick(double now);
  // When tick() next has something to do (a caller may call it earlier, never needs to call it later).
  double next_deadline() const;
  // `authenticated_key`: the CurveZMQ key the transport authenticated the sender with
  // (empty when insecure). A message using a member's id with another key is refused.
  std::vector<Outgoing> handle(const Message& message, const std::string& authenticated_key, double now);
  // Marks us Left and returns LEAVE messages for up to `fanout` live members.
  std::vector<Outgoing> leave(double now);

  std::optional<std::string> function_summary(const std::string& function) const;
  std::vector<PeerView> peers(double now) const;  // everyone but us
  std::optional<PeerView> peer(const std::string& node_id, double now) const;
  Changes take_changes() { return store_.take_changes(); }
  const RecordStore& state() const { return store_; }
  const ProtocolCounters& counters() const { return counters_; }
  // Whether this agent's replica has caught up with the fleet once since it started: a
  // member answered an anti-entropy comparison and every record that answer showed we
  // lacked has arrived (one pulled in vain makes the next comparison start over). An agent
  // with no seeds has no one to catch up with and is caught up at once. Until then a
  // function this host runs may have a record elsewhere that has not reached us, and a
  // summary we wrote of it would replace that record everywhere (the newest write wins):
  // callers hold their summaries back (node::Publisher). Stays true once true.
  bool caught_up() const { return caught_up_; }
  const Identity& identity() const { return self_; }
  unsigned local_health() const { return health_.score(); }
  bool signing() const { return authority_->enabled(); }
  // Endpoint claimed by the last message that used our node id (see duplicate_node_id).
  const std::string& last_duplicate_endpoint() const { return last_duplicate_endpoint_; }
  void set_observer(ProtocolObserver* observer) { observer_ = observer; }
  // The timers behind next_deadline(), for diagnostics ("probe=… news=…").
  std::string timers() const;
  // Simulator warm start: take `donor`'s records and members (which include ours) as if
  // we had joined long ago, with timers at random phases; with `functions`, those function
  // records instead of the donor's (with function homes, what we would keep).
  void adopt_state(const Protocol& donor, double now, const std::vector<RecordRef>* functions = nullptr);

 private:
  struct Probe {
    uint64_t target_fp = 0;
    uint32_t seq = 0;
    double indirect_at = 0, verdict_at = 0;
    bool acked = false, indirect_sent = false, final_check = false;
    unsigned expected_nacks = 0;
    std::vector<uint64_t> nacked_by;  // helpers that could not reach the target either
  };
  struct Relay {  // a PING we send on behalf of a PING_REQ
    uint32_t our_seq, their_seq;
    std::string endpoint, public_key;  // the requester
    double nack_at;
  };
  struct Suspicion {
    double started = 0;
    std::vector<uint64_t> confirmers;  // distinct suspectors, the first included
    bool final_check = false;          // expired: last checks (consult others; probe it if unconfirmed) under way
    double final_deadline = 0;
  };
  struct QueuedNews {
    NewsItem item;
    uint8_t left;  // transmissions to go
  };
  struct QueuedMember {
    MemberNews item;
    uint8_t left;
  };
  struct Want {
    uint32_t stamp_hash;   // 0 = any version newer than ours
    uint64_t source_fp;    // who said it has it
    double not_before;     // anti-entropy differences settle first (news may still bring them)
    double requested_at;   // last PULL, -inf if never
    uint8_t attempts;
  };
  struct Contact {
    std::string endpoint, public_key;
  };
  struct HomeNews {  // a rumour for one function home
    uint64_t target_fp;
    NewsItem item;
    uint8_t left;  // transmissions to go
  };
  struct Interest {
    double until;      // kept until then
    double pulled_at;  // last pull from a home, -inf if never
  };
  static Contact contact_in(const Record& node);  // where a node record says its author listens

  // MemberListener
  void member_changed(const Member& member, PeerState before, double now) override;
  void member_forgotten(uint64_t fp, double now) override;

  Sender sender() const;
  Message message(MessageType type) const;
  Outgoing to(const Member& member, Message message) const;
  Outgoing to(const Contact& contact, Message message) const;
  std::optional<Contact> contact_of(uint64_t fp) const;
  const Member* random_live_member(uint64_t exclude_a = 0, uint64_t exclude_b = 0);
  const Member* next_probe_target();
  double jittered(double seconds);
  size_t live_peers() const;  // Alive or Suspect members other than us
  unsigned transmit_limit(bool membership) const;  // how many times a rumour is sent

  // probing
  void probe_step(double now, std::vector<Outgoing>& out);
  void start_probe(double now, std::vector<Outgoing>& out);
  void send_indirect(double now, std::vector<Outgoing>& out);
  void finish_probe(double now, std::vector<Outgoing>& out);
  void relay_step(double now, std::vector<Outgoing>& out);
  void suspicion_step(double now, std::vector<Outgoing>& out);
  void consult(const Member& member, std::vector<Outgoing>& out);  // asks two members for its node record
  void suspect(Member& member, const std::vector<uint64_t>& also_failed, double now);
  bool confirm(uint64_t fp, uint64_t from_fp);
  void declare_dead(Member& member, double now);
  void check_incarnation(const Member& member, uint64_t generation, uint64_t version, uint64_t source_fp, double now);
  void maybe_reconnect(double now, std::vector<Outgoing>& out);

  // rumours
  void queue_news(const Record& record);  // node records go out twice as often: liveness rides on them
  void queue_member(const MemberNews& item);
  void attach_members(Message& message);
  void send_news(double now, std::vector<Outgoing>& out);
  MemberNews rumour_about(const Member& member, PeerState state) const;

  // pulls
  // Records that we lack `key_hash` (at `stamp_hash`, 0 = anything newer) and that
  // `source_fp` has it; wants due now are pulled from the sender at the end of handle().
  void want(uint64_t key_hash, uint32_t stamp_hash, uint64_t source_fp, double not_before);
  void pull_fresh_wants(uint64_t source_fp, double now, std::vector<Outgoing>& out);
  void settle_want(uint64_t key_hash);
  size_t keys_per_pull() const;  // what one push carries, at kAverageRecordBytes a record
  void send_pulls(double now, std::vector<Outgoing>& out);  // due wants not asked for lately
  void apply_records(const std::vector<RecordRef>& records, uint64_t source_fp, double now, std::vector<Outgoing>& out);

  // function homes
  std::vector<uint64_t> live_members() const;  // Alive or Suspect, self included: who may be a home
  std::vector<uint64_t> homes_among(uint64_t key_hash, const std::vector<uint64_t>& members) const;
  bool is_home(uint64_t key_hash) const;
  // The function_homes + 1 best-scoring live members other than this agent, best first:
  // whom a pull may ask (the other homes, then the member next in line).
  std::vector<uint64_t> pull_sources(uint64_t key_hash) const;
  // Whether this agent is one of the key's homes, given its pull_sources (no second pass
  // over the members).
  bool ranks_among_homes(uint64_t key_hash, const std::vector<uint64_t>& sources) const;
  bool keeps_function(const Record& record, double now) const;  // author, home, or asked lately
  void announce_to_homes(const Record& record, const std::vector<uint64_t>& homes, uint8_t transmissions);
  void send_home_news(std::vector<Outgoing>& out);
  // Every anti-entropy interval: our records told to homes that are new since we last
  // told them (all of them every kFullAnnounceRounds rounds), what we need not keep dropped.
  void tend_homes(double now);
  void keep_or_forget(const Record& record, uint64_t source_fp, Verdict verdict, double now);
  // A repeated announcement (deduplicated by seen_news_) of a function we hold at another
  // version, or lack as one of its homes: nothing else repairs a home whose pulls all
  // failed, nor tells a writer still announcing a superseded version (keep_or_forget).
  void repull_if_missed(const NewsItem& item, uint64_t from_fp, double now);

  // anti-entropy
  void start_anti_entropy(double now, std::vector<Outgoing>& out);
  Message anti_entropy_syn() const;
  std::vector<MemberNews> non_alive_rumours() const;

  // handlers
  // `relayed`: the items come from an anti-entropy list (what the sender believes, not fresh
  // evidence): about members we think alive they are passed on to the member, not applied.
  void handle_members(const std::vector<MemberNews>& items, uint64_t source_fp, double now, std::vector<Outgoing>& out,
                      bool relayed);
  void notify(uint64_t member_fp, const Contact& contact, const MemberNews& rumour, double now, std::vector<Outgoing>& out);
  void refute(const MemberNews& item, double now);
  void greet(const Sender& from, uint64_t from_fp, double now, std::vector<Outgoing>& out);
  void handle_duplicate(const Sender& from, double now, std::vector<Outgoing>& out);
  void notice_duplicate(const Contact& other, double now, std::vector<Outgoing>& out);
  void on_ping(const Message& m, double now, std::vector<Outgoing>& out);
  void on_ping_req(const Message& m, double now, std::vector<Outgoing>& out);
  void on_ack(const Message& m, uint64_t from_fp, double now, std::vector<Outgoing>& out);
  void on_nack(const Message& m, uint64_t from_fp);
  void on_news(const Message& m, uint64_t from_fp, double now);
  void on_pull(const Message& m, uint64_t from_fp, std::vector<Outgoing>& out);
  void on_ae_syn(const Message& m, uint64_t from_fp, std::vector<Outgoing>& out);
  void on_ae_ack(const Message& m, uint64_t from_fp, double now, std::vector<Outgoing>& out);
  void compare(const Message& m, uint64_t from_fp, double now, std::vector<Outgoing>& out);  // an AE answer

  ProtocolConfig config_;
  Identity self_;
  std::vector<Seed> seeds_;
  Rng rng_;
  std::shared_ptr<const RecordAuthority> authority_;
  RecordStore store_;
  LocalNodeState local_;
  ProtocolCounters counters_;
  LocalHealth health_;
  ProtocolObserver* observer_ = nullptr;
  bool left_ = false;
  // caught_up(): the keys still wanted from the first comparison answered, until none is.
  bool caught_up_ = false, compared_ = false;
  std::vector<uint64_t> catching_up_;
  void check_caught_up();

  std::optional<Probe> probe_;
  double next_probe_at_ = 0;
  size_t probe_cursor_ = 0, probe_stride_ = 1, probe_steps_ = 0;
  std::vector<uint64_t> urgent_probes_;  // suspects to probe once more before burying
  std::vector<Relay> relays_;
  std::unordered_map<uint64_t, Suspicion> suspicions_;
  std::unordered_map<uint64_t, double> noticed_at_;  // last time we told a member it is suspected

  std::vector<QueuedNews> news_;
  std::vector<QueuedMember> member_news_;
  // Rumours come ln(n) + 2 times each: the (key, stamp) pairs handled lately, direct-mapped,
  // answer most repeats without a lookup in the record tables (16 KB; a collision only
  // costs that lookup).
  static constexpr size_t kSeenNewsSlots = 2048;
  std::vector<uint64_t> seen_news_ = std::vector<uint64_t>(kSeenNewsSlots, 0);
  double next_news_at_ = 0;

  std::unordered_map<uint64_t, Want> wants_;
  std::vector<uint64_t> fresh_wants_;  // wanted during the current handle(), due now
  double wants_due_at_ = std::numeric_limits<double>::infinity();  // no want is due before this
  std::unordered_map<uint64_t, Contact> strangers_;  // senders we have no node record of yet

  double last_pull_round_at_ = 0;

  std::vector<HomeNews> home_news_;
  std::unordered_map<uint64_t, Interest> interest_;                // by function key hash
  std::unordered_map<uint64_t, std::vector<uint64_t>> announced_;  // our records: the homes last told
  uint64_t tend_rounds_ = 0;

  double next_ae_at_ = 0;
  double next_purge_at_ = 0;
  std::string last_duplicate_endpoint_;
  double duplicate_noticed_at_ = -1e18;
};

}  // namespace antiphase::gossip
