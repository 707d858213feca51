#include "common/shape/dct_basis.h"

#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <numbers>
#include <utility>

namespace antiphase::shape {
namespace {

DctBasis build_basis(uint32_t slots, uint32_t k) {
  DctBasis basis(slots, k);
  const double n = slots;
  for (uint32_t b = 0; b < slots; ++b) {
    for (uint32_t j = 0; j < k; ++j) {
      const double scale = j == 0 ? std::sqrt(1.0 / n) : std::sqrt(2.0 / n);
      basis(b, j) = scale * std::cos(std::numbers::pi * (b + 0.5) * j / n);
    }
  }
  return basis;
}

}  // namespace

const DctBasis& dct_basis(uint32_t slots, uint32_t k) {
  // Few distinct (slots, k) pairs exist in a process; entries are never freed so the
  // references handed out stay valid.
  static std::mutex mutex;
  static std::map<std::pair<uint32_t, uint32_t>, std::unique_ptr<DctBasis>> cache;
  std::lock_guard lock(mutex);
  auto& entry = cache[{slots, k}];
  if (!entry) entry = std::make_unique<DctBasis>(build_basis(slots, k));
  return *entry;
}

}  // namespace antiphase::shape
