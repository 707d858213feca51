#pragma once
// What a node tells its peers, and when: its host advert and the summaries of the
// functions running here, each only when it changed significantly (and not more often
// than a minimum interval), plus a slow refresh that brings back what peers evicted
// or purged. A reload that changes the capacity or the limit goes out at once.
// Pure: the caller passes `now` (wall-clock seconds, also when replaying a trace) and
// hands the result to its gossip transport (antiphased) or simulator (antiphase-replay).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/gossip/republish_gate.h"
#include "common/node/host_advert.h"
#include "common/shape/summary.h"

namespace antiphase::node {

class NodeCore;

struct PublisherConfig {
  double threshold = 0.05;        // relative change that is worth telling (shape::significantly_changed)
  double min_interval_s = 30.0;   // per summary, and for the advert
  // Unchanged ones are re-sent every this many intervals (1 h). Not what repairs a lost
  // summary (a peer that missed one is repaired by anti-entropy; one purged or evicted
  // everywhere is re-sent at the next check, see `held` below), so it is long: every
  // agent hears every refresh, and at 10,000 hosts a 5-minute refresh alone cost each
  // agent ~120 KB/s (docs/benchmarks/gossip.md).
  double refresh_intervals = 120;
};

struct Publication {
  std::optional<std::string> advert;                          // encoded HostAdvert, if due
  std::vector<std::pair<std::string, std::string>> functions;  // (name, encoded summary), if due
};

struct PublisherCounters {
  uint64_t summaries_published = 0, summaries_suppressed = 0, adverts_published = 0;
  uint64_t summaries_restored = 0;  // re-sent because the replica had lost them
};

class Publisher {
 public:
  // `held(name)`: whether this agent's gossip replica still holds a record for the
  // function (ours or another host's). A summary we sent that the replica no longer holds
  // (its last author died and was purged, or a cap evicted it) goes out again at the
  // next check. Without `held`, only the slow refresh brings it back.
  using Held = std::function<bool(const std::string& function)>;
  explicit Publisher(PublisherConfig config = {});
  // `caught_up`: whether the gossip replica has caught up with the fleet since this agent
  // started (gossip::Protocol::caught_up). Until then no function summary goes out, only
  // the advert: a function that started here before its record arrived has a model that
  // knows nothing of it yet, and that summary, the newest write, would replace the fleet's
  // record of its history everywhere. Its model resumes from the record once it arrives
  // (NodeCore::hear_gossiped), and the summary then goes out at the next check.
  // No defaults: a caller that forgot `caught_up` would publish before it (antiphased and
  // the fleet replay pass their gossip's; `held` may be empty).
  Publication due(const NodeCore& core, double now_s, const Held& held, bool caught_up);
  const PublisherCounters& counters() const { return counters_; }

 private:
  bool checked_recently(const std::string& key, double now_s);
  bool should_publish(const std::string& key, const shape::Summary& fresh, double now_s);

  PublisherConfig config_;
  gossip::RepublishGate gate_;
  std::unordered_map<std::string, double> last_checked_s_;
  std::unordered_map<std::string, shape::Summary> last_published_;
  std::optional<HostAdvert> published_advert_;
  uint64_t next_version_ = 1;
  PublisherCounters counters_;
};

}  // namespace antiphase::node
