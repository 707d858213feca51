#pragma once
// A compact open-addressing hash table keyed by a 64-bit hash that each entry carries
// (KeyOf(entry)). Linear probing, backward-shift deletion (no tombstones), capacity
// sized to the element count (not a power of two) with multiply-shift slot mapping.
//
// Why not std::unordered_map: a node of it costs ~40 bytes of overhead per element, and
// the simulator holds 10,000 replicas of ~43,000 records each; here an element costs
// its own size divided by the load factor (<= 0.8).
//
// An entry is "empty" when KeyOf(entry) == 0; callers never store key 0 (see nonzero()).
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace antiphase::gossip {

// Maps a hash to a key a table can hold (0 means "empty slot").
constexpr uint64_t nonzero(uint64_t hash) { return hash ? hash : 1; }

template <typename Entry, typename KeyOf>
class FlatTable {
 public:
  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }
  bool empty() const { return size_ == 0; }

  Entry* find(uint64_t key) {
    if (slots_.empty()) return nullptr;
    for (size_t i = home(key);; i = next(i)) {
      const uint64_t k = KeyOf{}(slots_[i]);
      if (k == key) return &slots_[i];
      if (k == 0) return nullptr;
    }
  }
  const Entry* find(uint64_t key) const { return const_cast<FlatTable*>(this)->find(key); }

  // Inserts `entry` (its key must not be present yet); returns where it landed.
  Entry* insert(Entry entry) {
    if ((size_ + 1) * 5 > slots_.size() * 4) grow();
    const uint64_t key = KeyOf{}(entry);
    size_t i = home(key);
    while (KeyOf{}(slots_[i]) != 0) i = next(i);
    slots_[i] = std::move(entry);
    ++size_;
    return &slots_[i];
  }

  bool erase(uint64_t key) {
    Entry* found = find(key);
    if (!found) return false;
    size_t hole = static_cast<size_t>(found - slots_.data());
    slots_[hole] = Entry{};
    --size_;
    // Backward shift: pull later entries of the probe run into the hole if their home
    // slot allows it, so lookups never stop early at the hole.
    for (size_t i = next(hole);; i = next(i)) {
      const uint64_t k = KeyOf{}(slots_[i]);
      if (k == 0) break;
      if (distance(home(k), i) >= distance(hole, i)) {
        slots_[hole] = std::move(slots_[i]);
        slots_[i] = Entry{};
        hole = i;
      }
    }
    return true;
  }

  void clear() {
    slots_.clear();
    size_ = 0;
  }

  // Slot access, for iteration and for probing in a random permutation (see slot()).
  template <typename F>
  void for_each(F&& f) const {
    for (const Entry& e : slots_)
      if (KeyOf{}(e) != 0) f(e);
  }
  template <typename F>
  void for_each_mut(F&& f) {
    for (Entry& e : slots_)
      if (KeyOf{}(e) != 0) f(e);
  }
  // The entry in slot `i` (i < capacity()), or nullptr if the slot is empty.
  const Entry* slot(size_t i) const { return KeyOf{}(slots_[i]) != 0 ? &slots_[i] : nullptr; }
  Entry* slot_mut(size_t i) { return KeyOf{}(slots_[i]) != 0 ? &slots_[i] : nullptr; }

  size_t memory_bytes() const { return slots_.capacity() * sizeof(Entry); }

 private:
  size_t home(uint64_t key) const {
    // Keys are hashes already; mix once more so callers' low-entropy keys spread too.
    const uint64_t mixed = (key ^ (key >> 29)) * 0xbf58476d1ce4e5b9ull;
    return static_cast<size_t>((static_cast<unsigned __int128>(mixed) * slots_.size()) >> 64);
  }
  size_t next(size_t i) const { return i + 1 == slots_.size() ? 0 : i + 1; }
  // Steps from slot `from` forward to slot `to`, wrapping around.
  size_t distance(size_t from, size_t to) const { return to >= from ? to - from : to + slots_.size() - from; }
  void grow() {
    std::vector<Entry> old = std::move(slots_);
    slots_.clear();
    slots_.resize(std::max<size_t>(8, (size_ + 1) * 3 / 2 + 8));  // load ~0.67 after growing
    size_ = 0;
    for (Entry& e : old)
      if (KeyOf{}(e) != 0) insert(std::move(e));
  }

  std::vector<Entry> slots_;
  size_t size_ = 0;
};

}  // namespace antiphase::gossip
