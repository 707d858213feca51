#include "common/node/publisher.h"

#include "common/node/node_core.h"

namespace antiphase::node {
namespace {

// The advert shares the republish gate with function summaries under a key no
// function can have (function names come from cgroup directory names).
constexpr const char* kAdvertKey = "/host advert";

}  // namespace

Publisher::Publisher(PublisherConfig config)
    : config_(config),
      // The gate's threshold applies to the 0/1 "moved" flag computed here.
      gate_(0.5, config.min_interval_s, config.refresh_intervals * config.min_interval_s) {}

bool Publisher::checked_recently(const std::string& key, double now_s) {
  auto [it, fresh] = last_checked_s_.try_emplace(key, now_s);
  if (fresh) return false;
  if (now_s - it->second < config_.min_interval_s) return true;
  it->second = now_s;
  return false;
}

// Summarising costs microseconds per function, so a function is looked at only once
// per interval; the gate then decides (changed significantly, or due for the refresh).
bool Publisher::should_publish(const std::string& key, const shape::Summary& fresh, double now_s) {
  const auto last = last_published_.find(key);
  const bool moved = last == last_published_.end() || shape::significantly_changed(last->second, fresh, config_.threshold);
  if (!gate_.admit(key, moved ? 1.0 : 0.0, now_s)) return false;
  last_published_[key] = fresh;
  return true;
}

Publication Publisher::due(const NodeCore& core, double now_s, const Held& held, bool caught_up) {
  Publication out;
  const std::string& blob = core.advert_blob();
  if (!blob.empty()) {
    const HostAdvert& advert = core.advert();
    const bool rules_changed = published_advert_ && (published_advert_->capacity_cores != advert.capacity_cores ||
                                                      published_advert_->limit_cores != advert.limit_cores);
    bool send = rules_changed;  // a reload must not wait for the interval
    if (!send && !checked_recently(kAdvertKey, now_s)) {
      const bool moved = !published_advert_ || significantly_changed(*published_advert_, advert, config_.threshold);
      send = gate_.admit(kAdvertKey, moved ? 1.0 : 0.0, now_s);
    }
    if (send) {
      out.advert = blob;
      published_advert_ = advert;
      ++counters_.adverts_published;
    }
  }
  if (!caught_up) return out;
  for (const auto& [name, instances] : core.running()) {  // only functions running here speak for themselves
    if (checked_recently(name, now_s)) continue;
    if (held && last_published_.count(name) && !held(name)) {
      gate_.forget(name);  // peers lost it: due now, changed or not
      ++counters_.summaries_restored;
    }
    const shape::Summary summary = core.summary_of(name, next_version_);
    if (!should_publish(name, summary, now_s)) {
      ++counters_.summaries_suppressed;
      continue;
    }
    std::string encoded = shape::encode(summary);
    if (encoded.empty()) continue;
    out.functions.emplace_back(name, std::move(encoded));
    ++next_version_;
    ++counters_.summaries_published;
  }
  return out;
}

}  // namespace antiphase::node
