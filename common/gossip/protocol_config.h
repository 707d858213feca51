#pragma once
// Knobs of the sans-IO gossip protocol. Times are seconds on the caller's clock
// (the protocol never reads a clock; every entry point takes `now`).
#include <cstddef>

namespace antiphase::gossip {

struct ProtocolConfig {
  // --- failure detection (SWIM with Lifeguard) ---
  double probe_interval_s = 1;      // each agent probes one member per interval
  double probe_timeout_s = 0.5;     // direct ACK wait before asking others (PING_REQ)
  unsigned indirect_probes = 3;     // helpers asked to probe an unanswering member
  double suspect_after_s = 4;       // a suspicion confirmed by `suspicion_confirmations` peers -> Dead after this
  double dead_after_s = 15;         // an unconfirmed suspicion -> Dead after this (time to refute)
  unsigned suspicion_confirmations = 3;
  unsigned max_local_health = 8;    // probe timing is stretched up to (max + 1) x on an unhealthy agent
  double purge_after_s = 120;       // Dead/Left this long -> forgotten (and tombstoned as long again)

  // --- dissemination ---
  unsigned fanout = 3;              // peers a rumour is pushed to per news tick
  double news_interval_s = 0.2;     // rumours are pushed at most this often
  // Each rumour is sent max(4, ceil(news_multiplier * ln(members + 1)) + 2) times by each
  // agent that learns it: about ln(n) + 2 copies reach every member, so a change misses
  // about one member in e^2 n (at 10,000 members: 0.14 members), which anti-entropy repairs.
  // 0 sends no record rumours at all (anti-entropy alone; for experiments).
  double news_multiplier = 1.0;
  double anti_entropy_interval_s = 30;  // full comparison with one random member
  double anti_entropy_settle_s = 2;     // differences it finds are pulled this much later (news may bring them first)
  double pull_retry_s = 0.4;        // a pulled key that did not arrive is asked again after this (2 news intervals)

  // --- function homes (docs/gossip.md, "Function homes") ---
  // 0: every agent keeps every function's record (full replication; what the simulator's
  // 1,000-node rows and fleets up to a few thousand hosts use). r > 0: a function's record
  // is kept by the agent that wrote it, by its r homes (rendezvous hashing over the live
  // members, function_homes.h), and by agents that asked for it (want_function) within
  // interest_s; everyone else forgets it. Node records stay everywhere. Every agent of a
  // fleet must use the same value.
  unsigned function_homes = 0;
  double interest_s = 600;           // a function asked about is kept this long after the last ask
  double interest_refresh_s = 60;    // a kept copy is re-pulled from a home when asked about after this

  // --- caps ---
  size_t max_peers = 4096;          // members kept (self included); Left, Dead, then oldest-heard evicted
  size_t max_functions = 100000;    // function records kept; lowest Lamport stamp evicted first
  size_t max_message_bytes = 1 << 20;  // outgoing messages are built to fit this
  size_t max_summary_bytes = 4096;  // larger summaries/host summaries are refused
  size_t max_name_bytes = 256;      // node ids, function names, endpoints (records hold up to 65,535)

  bool track_changes = true;        // keep the peers' change feed (take_changes); the simulator turns it off

  // The timers that follow from one probe interval, as the agent runs them (the fleet
  // replay uses the same derivation). 0 for news/anti-entropy: the derived default.
  static ProtocolConfig timed_by(double probe_interval_s, double news_interval_s = 0,
                                 double anti_entropy_interval_s = 0) {
    ProtocolConfig p;
    p.probe_interval_s = probe_interval_s;
    p.probe_timeout_s = probe_interval_s / 2;
    p.news_interval_s = news_interval_s > 0 ? news_interval_s : probe_interval_s / 5;
    p.anti_entropy_interval_s = anti_entropy_interval_s > 0 ? anti_entropy_interval_s : 30 * probe_interval_s;
    p.anti_entropy_settle_s = 2 * probe_interval_s;
    p.pull_retry_s = 2 * p.news_interval_s;
    return p;
  }
};

}  // namespace antiphase::gossip
