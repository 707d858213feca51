#pragma once
// Knobs of the sans-IO gossip protocol. Times are seconds on the caller's clock
// (the protocol never reads a clock; every entry point takes `now`).
#include <cstddef>

namespace antiphase::gossip {

struct ProtocolConfig {
  unsigned fanout = 3;              // peers contacted per round
  double suspect_after_s = 5;       // heartbeat silent this long -> Suspect
  double dead_after_s = 15;         // ... -> Dead (no longer gossiped to)
  double purge_after_s = 120;       // Dead/Left and silent this long -> forgotten
  size_t max_peers = 4096;          // origins kept (self included); oldest-heard evicted
  size_t max_functions = 100000;    // function summaries kept; oldest (lowest lamport) evicted
  size_t max_message_bytes = 1 << 20;  // outgoing messages are built to fit this
  size_t max_summary_bytes = 4096;  // larger summaries/host summaries are refused
  size_t max_name_bytes = 256;      // node ids, function names, endpoints
};

}  // namespace antiphase::gossip
