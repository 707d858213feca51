#pragma once
// Assigns in-kernel accounting slots to watched cgroups (pure bookkeeping, no I/O).
//
// Slot 0 is "other"; slots 1..capacity are handed out to cgroup ids. Freed slots are
// reused oldest-first, so a slot that a vanished cgroup's last task may still be
// charging (until its CPU switches) is reused as late as possible. A reused slot's
// counter keeps running: the caller records its value at assignment as a baseline.
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

namespace antiphase::agent {

class SlotTable {
 public:
  explicit SlotTable(uint32_t capacity) : capacity_(capacity) {}

  struct Change {
    std::vector<uint64_t> removed;                       // ids no longer watched
    std::vector<std::pair<uint64_t, uint32_t>> added;    // id -> newly assigned slot
    std::vector<uint64_t> rejected;                      // no free slot
  };
  // Makes the table hold exactly `ids` (as far as capacity allows).
  Change sync(const std::vector<uint64_t>& ids);

  std::optional<uint32_t> slot_of(uint64_t id) const;
  const std::unordered_map<uint64_t, uint32_t>& assigned() const { return by_id_; }
  uint32_t capacity() const { return capacity_; }
  // Highest slot ever handed out (0 if none): slots 0..high_water() cover every id.
  uint32_t high_water() const { return next_fresh_ - 1; }
  size_t size() const { return by_id_.size(); }

 private:
  std::optional<uint32_t> allocate();

  uint32_t capacity_;
  uint32_t next_fresh_ = 1;
  std::deque<uint32_t> free_;  // released slots, oldest first
  std::unordered_map<uint64_t, uint32_t> by_id_;
};

}  // namespace antiphase::agent
