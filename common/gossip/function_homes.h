#pragma once
// Function homes (docs/gossip.md, "Function homes"): with ProtocolConfig::function_homes
// = r > 0, a function's record is kept by the r live members whose rendezvous score for
// its key is highest, instead of by every agent. Any agent computes the same homes from
// the member list SWIM already gives it, with no coordination; a join or a death moves
// about r/n of the keys. Shared by the protocol core and the simulator, which must agree.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace antiphase::gossip {

// Rendezvous (highest-random-weight) score of `member_fp` for `key_hash`: splitmix64's
// finaliser over both, so neighbouring keys or members do not pick neighbouring homes.
constexpr uint64_t home_score(uint64_t key_hash, uint64_t member_fp) {
  uint64_t z = key_hash ^ (member_fp * 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The `count` best-scoring members offered, best first (ties by fingerprint).
class TopHomes {
 public:
  TopHomes(uint64_t key_hash, unsigned count) : key_hash_(key_hash), count_(count) { best_.reserve(count + 1); }

  void offer(uint64_t member_fp) {
    const std::pair<uint64_t, uint64_t> entry{home_score(key_hash_, member_fp), member_fp};
    if (best_.size() == count_ && !(best_.back() < entry)) return;
    best_.insert(std::upper_bound(best_.begin(), best_.end(), entry, std::greater<>()), entry);
    if (best_.size() > count_) best_.pop_back();
  }

  std::vector<uint64_t> members() const {
    std::vector<uint64_t> fps;
    fps.reserve(best_.size());
    for (const auto& [score, fp] : best_) fps.push_back(fp);
    return fps;
  }

 private:
  uint64_t key_hash_;
  unsigned count_;
  std::vector<std::pair<uint64_t, uint64_t>> best_;  // (score, fp), descending
};

}  // namespace antiphase::gossip
