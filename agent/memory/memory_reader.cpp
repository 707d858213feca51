#include "agent/memory/memory_reader.h"

#include <algorithm>
#include <unordered_map>

namespace antiphase::agent {

MemoryReader::Instance MemoryReader::open_instance(const std::string& function, const std::string& path) const {
  return Instance{function, path, CgroupMemoryFiles(layout_.memory_dir(path), layout_.hierarchy), std::nullopt,
                  std::nullopt};
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
    }
  }
}

MemorySnapshot MemoryReader::read() const {
  MemorySnapshot snapshot;
  for (const auto& instance : instances_) {
    const auto current = instance.files.current_bytes();
    if (!current) continue;  // not measurable, or removed since the last rescan
    snapshot.by_function[instance.function].push_back(
        {instance.path, *current, instance.kernel_peak_bytes, instance.limit_bytes});
  }
  return snapshot;
}

size_t MemoryReader::measurable_instances() const {
  return static_cast<size_t>(
      std::count_if(instances_.begin(), instances_.end(), [](const Instance& i) { return i.files.usable(); }));
}

}  // namespace antiphase::agent
