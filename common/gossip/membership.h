#pragma once
// Membership states and the two Lifeguard mechanisms that keep SWIM's failure detector
// calm on slow or lossy machines (Dadgar, Phillips, Currey: "Lifeguard: Local Health
// Awareness for More Accurate Failure Detection", 2018; hashicorp/memberlist):
//   - local health: an agent whose own probes keep failing (its CPU, its network) is
//     more likely the problem than the peers it probes, so it waits longer before
//     suspecting anyone;
//   - suspicion timeouts that start long and shrink as independent peers confirm the
//     suspicion: one unlucky probe leaves the suspect time to refute, a crash seen by
//     several probers is declared quickly.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>

namespace antiphase::gossip {

enum class PeerState : uint8_t { Alive, Suspect, Dead, Left };

std::string_view to_string(PeerState state);

// Seconds a suspicion lasts before the member is declared dead, given how many peers
// other than the first suspector confirmed it: from max_s (none) down to min_s (`wanted`
// or more), logarithmically, as in memberlist's remainingSuspicionTime.
inline double suspicion_timeout(unsigned confirmations, unsigned wanted, double min_s, double max_s) {
  if (wanted == 0) return min_s;
  const double fraction = std::log(confirmations + 1.0) / std::log(wanted + 1.0);
  return std::max(min_s, max_s - fraction * (max_s - min_s));
}

// Lifeguard's local health multiplier: 0 when healthy, up to `max` after failed probes,
// missed nacks and refutations. Probe intervals and timeouts are multiplied by scale().
class LocalHealth {
 public:
  explicit LocalHealth(unsigned max = 8) : max_(max) {}
  void worse(int delta = 1) { score_ = std::clamp<int>(score_ + delta, 0, static_cast<int>(max_)); }
  void better() { worse(-1); }
  unsigned score() const { return static_cast<unsigned>(score_); }
  double scale() const { return score_ + 1.0; }

 private:
  unsigned max_;
  int score_ = 0;
};

}  // namespace antiphase::gossip
