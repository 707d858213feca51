#include "agent/sampler/slot_table.h"

#include <unordered_set>

namespace antiphase::agent {

std::optional<uint32_t> SlotTable::allocate() {
  if (next_fresh_ <= capacity_) return next_fresh_++;
  if (free_.empty()) return std::nullopt;
  const uint32_t slot = free_.front();
  free_.pop_front();
  return slot;
}

SlotTable::Change SlotTable::sync(const std::vector<uint64_t>& ids) {
  Change change;
  const std::unordered_set<uint64_t> wanted(ids.begin(), ids.end());
  for (auto it = by_id_.begin(); it != by_id_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    change.removed.push_back(it->first);
    free_.push_back(it->second);
    it = by_id_.erase(it);
  }
  std::unordered_set<uint64_t> seen;
  for (uint64_t id : ids) {
    if (by_id_.count(id) || !seen.insert(id).second) continue;
    if (auto slot = allocate()) {
      by_id_.emplace(id, *slot);
      change.added.emplace_back(id, *slot);
    } else {
      change.rejected.push_back(id);
    }
  }
  return change;
}

std::optional<uint32_t> SlotTable::slot_of(uint64_t id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

}  // namespace antiphase::agent
