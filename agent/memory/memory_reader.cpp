#include "agent/memory/memory_reader.h"

#include <algorithm>
#include <unordered_map>

namespace antiphase::agent {

MemoryReader::Instance MemoryReader::open_instance(const std::string& function, const std::string& path) const {
  return Instance{function, path, CgroupMemoryFiles(layout_.memory_dir(path), layout_.hierarchy), std::nullopt,
                  std::nullopt, std::nullopt, 0};
}

void MemoryReader::read_usage(Instance& instance) {
  instance.current_bytes = instance.files.current_bytes();
  if (instance.current_bytes) instance.seen_peak_bytes = std::max(instance.seen_peak_bytes, *instance.current_bytes);
}

void MemoryReader::set_functions(const std::map<std::string, FunctionCgroups>& functions) {
  std::unordered_map<std::string, Instance> kept;
  for (auto& instance : instances_) kept.emplace(instance.path, std::move(instance));
  instances_.clear();
  for (const auto& [name, cgroups] : functions) {
    for (const auto& path : cgroups.instance_paths) {
      const auto it = kept.find(path);
      const bool reuse = it != kept.end() && it->second.files.usable() && it->second.function == name;
      instances_.push_back(reuse ? std::move(it->second) : open_instance(name, path));
      Instance& instance = instances_.back();
      instance.limit_bytes = instance.files.limit_bytes();
      instance.kernel_peak_bytes = instance.files.peak_bytes();
      read_usage(instance);
    }
  }
}

namespace {

// Adds one instance to its function's sums.
void add_instance(FunctionMemory& m, uint64_t current, uint64_t peak, bool peak_from_kernel,
                  const std::optional<uint64_t>& limit) {
  m.current_bytes += current;
  m.peak_bytes += peak;
  m.instance_peak_bytes = std::max(m.instance_peak_bytes, peak);
  m.peak_from_kernel = m.peak_from_kernel && peak_from_kernel;
  // A function is limited only if every instance is.
  m.limit_bytes = (m.measured_instances == 0 || m.limit_bytes) && limit
                      ? std::optional<uint64_t>(m.limit_bytes.value_or(0) + *limit)
                      : std::nullopt;
  ++m.measured_instances;
}

}  // namespace

MemorySnapshot MemoryReader::read() {
  MemorySnapshot snapshot;
  // instances_ is grouped by function in name order (set_functions walks a std::map).
  for (auto& instance : instances_) {
    if (!instance.kernel_peak_bytes) read_usage(instance);
    const auto current = instance.current_bytes;
    if (!current) continue;  // not measurable, or removed
    const uint64_t peak = std::max(instance.kernel_peak_bytes.value_or(0), instance.seen_peak_bytes);
    if (snapshot.functions.empty() || snapshot.functions.back().first != instance.function)
      snapshot.functions.emplace_back(instance.function, FunctionMemory{});
    add_instance(snapshot.functions.back().second, *current, peak, instance.kernel_peak_bytes.has_value(),
                 instance.limit_bytes);
  }
  return snapshot;
}

size_t MemoryReader::per_tick_instances() const {
  return static_cast<size_t>(std::count_if(instances_.begin(), instances_.end(), [](const Instance& i) {
    return i.files.usable() && !i.kernel_peak_bytes;
  }));
}

size_t MemoryReader::measurable_instances() const {
  return static_cast<size_t>(
      std::count_if(instances_.begin(), instances_.end(), [](const Instance& i) { return i.files.usable(); }));
}

}  // namespace antiphase::agent
