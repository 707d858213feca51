#include "agent/sampler/cgroup_stat_sampler.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <unordered_set>

#include "agent/registry/cgroup_fs.h"

namespace antiphase::agent {

void CgroupStatSampler::set_watched(const std::vector<WatchedCgroup>& cgroups) {
  std::lock_guard lock(mutex_);
  std::unordered_map<uint64_t, Root> kept;
  for (auto& root : roots_) kept.emplace(root.cgroup.id, std::move(root));
  roots_.clear();
  std::unordered_set<uint64_t> ids;
  for (const auto& c : cgroups) {
    if (!c.function_root || !ids.insert(c.id).second) continue;
    auto it = kept.find(c.id);
    roots_.push_back(it != kept.end() ? std::move(it->second) : Root{c, CpuStatFile(c.path)});
    roots_.back().cgroup = c;
  }
  for (auto it = reported_ns_.begin(); it != reported_ns_.end();) {
    it = ids.count(it->first) ? std::next(it) : reported_ns_.erase(it);
  }
}

UsageSnapshot CgroupStatSampler::read() {
  std::lock_guard lock(mutex_);
  UsageSnapshot snap;
  for (const auto& root : roots_) {
    auto usec = root.file.usage_usec();
    if (!usec) usec = read_cpu_stat_usage_usec(root.cgroup.path);  // e.g. out of file descriptors
    if (!usec) {
      ++unreadable_;
      if (::access(root.cgroup.path.c_str(), F_OK) == 0) ++read_errors_;
      continue;
    }
    uint64_t& reported = reported_ns_[root.cgroup.id];
    reported = std::max(reported, *usec * 1000);
    snap.cpu_ns[root.cgroup.id] = reported;
  }
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  snap.monotonic_ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
  return snap;
}

uint64_t CgroupStatSampler::read_errors() const {
  std::lock_guard lock(mutex_);
  return read_errors_;
}

std::unordered_map<std::string, std::string> CgroupStatSampler::stats() const {
  std::lock_guard lock(mutex_);
  return {{"source", "cpu.stat usage_usec"},
          {"watched_cgroups", std::to_string(roots_.size())},
          {"unreadable_reads", std::to_string(unreadable_)},
          {"read_errors", std::to_string(read_errors_)}};
}

}  // namespace antiphase::agent
