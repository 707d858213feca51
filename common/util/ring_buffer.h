#pragma once
// Fixed-capacity ring of the most recent values; the oldest is overwritten.
#include <cstddef>
#include <vector>

namespace antiphase::util {

template <typename T>
class RingBuffer {
 public:
  explicit RingBuffer(size_t capacity) : items_(capacity ? capacity : 1) {}

  void push(const T& v) {
    items_[next_] = v;
    next_ = (next_ + 1) % items_.size();
    if (size_ < items_.size()) ++size_;
  }
  size_t size() const { return size_; }
  size_t capacity() const { return items_.size(); }
  bool empty() const { return size_ == 0; }
  // i = 0 is the newest value.
  const T& recent(size_t i) const { return items_[(next_ + items_.size() - 1 - i) % items_.size()]; }
  // Oldest first, for charts and JSON.
  std::vector<T> to_vector() const {
    std::vector<T> out;
    out.reserve(size_);
    for (size_t i = size_; i-- > 0;) out.push_back(recent(i));
    return out;
  }

 private:
  std::vector<T> items_;
  size_t next_ = 0;
  size_t size_ = 0;
};

}  // namespace antiphase::util
