#include "common/node/node_core.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "common/shape/embedding.h"
#include "common/node/profiles.h"
#include "common/shape/state_file.h"

namespace antiphase::node {

namespace {

// Tenants whose co-movement figure is older than this no longer describe the host.
constexpr int64_t kForgetTenantAfterS = 86400;
constexpr double kBusyShare = 0.8;

// How long the summary's author measured the function (older summaries say only their
// confidence, a share of a day's full confidence).
double history_of(const shape::Summary& s, const shape::ShapeConfig& config) {
  return s.history_s ? s.history_s : s.confidence * config.full_confidence_s;
}

}  // namespace

NodeCore::NodeCore(NodeConfig config, std::string node_id, std::string endpoint)
    : config_(std::move(config)),
      node_id_(std::move(node_id)),
      endpoint_(std::move(endpoint)),
      policy_(config_.policy),
      calibrator_(config_.calibrator),
      host_model_(config_.shape),
      newcomers_(config_.newcomers) {}

void NodeCore::reconfigure(const NodeConfig& config) {
  config_.policy = config.policy;
  config_.calibrator = config.calibrator;
  config_.comovement = config.comovement;
  config_.capacity_cores = config.capacity_cores;
  config_.newcomers = config.newcomers;
  config_.relief_after_s = config.relief_after_s;
  newcomers_.reconfigure(config_.newcomers);  // keeps what newcomers showed
  policy_ = admission::AdmissionPolicy(config_.policy);
  // The calibrator keeps what it measured; z follows a new target at once.
  calibrator_.reset_config(config_.calibrator);
  if (last_tick_s_) advert_stale_ = true;
}

// ---------------------------------------------------------------- the host view

// A tenant as the host counts it, on the host's day fold: its own measurements once
// they are trusted (confidence ≥ min_confidence; never-observed slots at its observed
// peak), else what it was admitted as (its reservation), else what a candidate of that
// name would be sized as (a gossiped summary), else its observed peak, flat.
shape::SlotProfile NodeCore::tenant_profile(const std::string& name, const Tenant& t) const {
  const uint32_t slots = config_.shape.day.slots;
  const auto model = models_.find(name);
  if (model != models_.end() && model->second.confidence() >= config_.policy.min_confidence) {
    shape::SlotProfile p = shifted(fill_unobserved(model->second.day_profile(), model->second.day_observed(), model->second.peak()),
                                   model->second.sketch().recent_shift(), model->second.highest());
    if (t.extra)
      for (size_t w = 0; w < p.slots() && w < t.extra->slots(); ++w) {
        p.mean[w] += t.extra->mean[w];
        p.spread[w] += t.extra->spread[w];  // the new instances move with the old ones
      }
    return p;
  }
  if (t.reserved) {
    if (!t.reserved_blind || model == models_.end()) return *t.reserved;
    // Admitted blind (at a declared size): what it has shown here since counts, at its
    // peak, flat -- as a function measured too briefly is counted.
    shape::SlotProfile p = *t.reserved;
    const double measured = model->second.peak();
    for (auto* v : {&p.mean, &p.peak})
      for (double& x : *v) x = std::max(x, measured);
    return p;
  }
  shape::SlotProfile grid{86400, std::vector<double>(slots, 0.0), std::vector<double>(slots, 0.0),
                          std::vector<double>(slots, 0.0)};
  if (const auto heard = heard_.find(name); heard != heard_.end()) {
    const Heard& h = heard->second;
    shape::SlotProfile p = shifted(h.day, h.shift / std::max<uint32_t>(1, h.summary.instances), shape::highest_per_instance(h.summary));
    for (auto* v : {&p.mean, &p.spread, &p.peak})
      for (double& x : *v) x *= t.instances;
    return on_slots_of(grid, p);
  }
  const double peak = model == models_.end() ? 0.0 : model->second.peak();
  std::fill(grid.mean.begin(), grid.mean.end(), peak);
  std::fill(grid.peak.begin(), grid.peak.end(), peak);
  return grid;
}

// The most a tenant was ever seen to use, from the same source tenant_profile() uses:
// its model here (plus instances admitted since), else its reservation, else its
// gossiped summary -- never less than what its model here has measured, however
// briefly (a tenant admitted at a declared 1 core that has shown 6 counts as 6).
double NodeCore::tenant_highest(const std::string& name, const Tenant& t) const {
  auto top = [](const shape::SlotProfile& p) { return p.peak.empty() ? 0.0 : *std::max_element(p.peak.begin(), p.peak.end()); };
  const auto model = models_.find(name);
  const double measured = model == models_.end() ? 0.0 : model->second.highest();
  if (model != models_.end() && model->second.confidence() >= config_.policy.min_confidence)
    return measured + (t.extra ? top(*t.extra) : 0.0);
  if (t.reserved) return std::max(top(*t.reserved), measured);
  if (const auto heard = heard_.find(name); heard != heard_.end())
    return std::max(shape::highest_per_instance(heard->second.summary) * t.instances, measured);
  return measured;
}

// Tenants the view counts: those in the last tick and reservations still waiting.
static bool counted(const auto& tenant) { return tenant.running || (tenant.reserved && !tenant.confirmed); }

// A tenant no longer running here; a confirmed one's reservation goes with it.
static void stop_counting(auto& tenant) {
  tenant.running = false;
  if (tenant.confirmed) tenant.reserved.reset();
}

NodeCore::SlotView NodeCore::slot_view(int64_t unix_s) const {
  double mean = 0, own = 0, sum_sd = 0;
  for (const auto& [name, t] : tenants_) {
    if (!counted(t)) continue;
    double m = 0, sd = 0;
    const auto model = models_.find(name);
    if (model != models_.end() && model->second.confidence() >= config_.policy.min_confidence) {
      const auto slot = model->second.day_slot_at(unix_s);
      m = (slot.observed ? slot.mean : model->second.peak()) + model->second.sketch().recent_shift();
      sd = slot.observed ? slot.spread : 0.0;
    } else {
      const shape::SlotProfile p = tenant_profile(name, t);
      const size_t w = p.slot_of(unix_s);
      m = p.mean[w];
      sd = p.spread[w];
    }
    mean += m;
    own += sd * sd;
    sum_sd += sd;
  }
  const double rho = pairwise_comovement().rho;
  return {mean, std::sqrt(std::max(0.0, own + rho * (sum_sd * sum_sd - own)))};
}

// ---------------------------------------------------------------- measurement

// Overload happens where the host is busy, so that is where its tail is measured:
// in quiet slots a small spread turns harmless bumps into huge normalised residuals
// (on Bitbrains hosts of 15 VMs the all-slot tail at 2.5σ was 3.5× the busy-slot one).
// A slot is busy when the view's mean there is within 20 % of the day's highest mean
// (means, not spreads: a burst inflates the spread of the slot it hits at once).
bool NodeCore::busy_slot(int64_t unix_s, const SlotView& v) const {
  const int64_t day_s = ((unix_s % 86400) + 86400) % 86400;
  const int64_t slot_index = day_s / (86400 / config_.shape.day.slots);
  if (slot_index != busy_slot_index_) {  // once per slot: the whole view costs tenants × slots
    busy_slot_index_ = slot_index;
    const auto& day = advert().aggregate;
    busy_threshold_ = kBusyShare * (day.mean.empty() ? 0.0 : *std::max_element(day.mean.begin(), day.mean.end()));
  }
  return v.mean >= busy_threshold_;
}

void NodeCore::calibrate(int64_t unix_s, double total_cores, double dt_s) {
  // Was the view's prediction for this slot exceeded by what was just measured? Only
  // once the host has a day of measurements, and where the view has a spread (a host
  // of newcomers sized flat predicts no deviation at all).
  if (host_model_.confidence() < 1.0) return;
  const SlotView v = slot_view(unix_s);
  if (!(v.spread > 0) || !busy_slot(unix_s, v)) return;
  calibrator_.observe_residual(v.mean, v.spread, total_cores, static_cast<double>(unix_s), dt_s);
}

// One pass over the tick and the tenants, both sorted by name (the replay calls this
// for millions of tenant-ticks): co-movement from residuals taken *before* the models
// learn this tick, then the models learn.
void NodeCore::learn_tenants(const Tick& tick, int64_t unix_s, double) {
  const double fade = config_.comovement.half_life_s > 0 ? std::pow(0.5, tick.dt_s / config_.comovement.half_life_s) : 1.0;
  // Residuals of tenants whose models have a day behind them, and their slot spreads.
  struct Deviation {
    Tenant* tenant;
    double residual, spread;
  };
  std::vector<Deviation> deviations;
  deviations.reserve(tick.functions.size());
  auto model = models_.begin();
  auto tenant = tenants_.begin();
  for (const auto& [name, f] : tick.functions) {
    while (tenant != tenants_.end() && tenant->first < name) stop_counting((tenant++)->second);
    if (tenant == tenants_.end() || tenant->first != name) tenant = tenants_.emplace_hint(tenant, name, Tenant{});
    while (model != models_.end() && model->first < name) ++model;
    if (model == models_.end() || model->first != name)
      model = models_.emplace_hint(model, name, new_model(name, std::max<uint32_t>(1, f.instances), unix_s));
    else if (unix_s - model->second.last_unix_s() > kForgetTenantAfterS)  // back after more than a day away
      resume_model(name, model->second, std::max<uint32_t>(1, f.instances), unix_s);
    Tenant& t = tenant->second;
    const double r = model->second.residual(unix_s, f.cores);
    if (std::isfinite(r)) deviations.push_back({&t, r, model->second.day_slot_at(unix_s).spread});
    model->second.add_sample(unix_s, f.cores, tick.dt_s);
    t.instances = std::max<uint32_t>(1, f.instances);
    t.running = true;
    t.confirmed = true;
    t.memory = {f.memory_peak_bytes, f.memory_limit_bytes};
    if (f.memory_instance_peak_bytes) t.instance_peak_bytes = f.memory_instance_peak_bytes;
    if (f.memory_peak_bytes) t.reserved_memory_bytes.reset();  // measured now
    t.last_seen_s = unix_s;
    // Once its own measurements are trusted, the tenant no longer needs its reservation.
    if (t.reserved && model->second.confidence() >= config_.policy.min_confidence) t.reserved.reset();
    ++tenant;
    ++model;
  }
  for (; tenant != tenants_.end(); ++tenant) stop_counting(tenant->second);
  // Leave-one-out (each tenant against the rest) and pairwise (all pairs) co-movement.
  double sum = 0, own = 0, sum_sd = 0, own_sd = 0;
  for (const Deviation& d : deviations) {
    sum += d.residual;
    own += d.residual * d.residual;
    sum_sd += d.spread;
    own_sd += d.spread * d.spread;
  }
  for (const Deviation& d : deviations) d.tenant->comovement.add(d.residual, sum, tick.dt_s, fade);
  if (deviations.size() >= 2) {
    pair_total_ = pair_total_ * fade + sum * sum * tick.dt_s;
    pair_own_ = pair_own_ * fade + own * tick.dt_s;
    pair_norm_ = pair_norm_ * fade + (sum_sd * sum_sd - own_sd) * tick.dt_s;
    pair_weight_s_ = pair_weight_s_ * fade + tick.dt_s;
  }
  // A tenant gone for a day no longer describes how this host's tenants move together;
  // a departed one's reservation went with it.
  std::erase_if(tenants_, [&](const auto& t) {
    return !t.second.running && t.second.confirmed && unix_s - t.second.last_seen_s > kForgetTenantAfterS;
  });
}

void NodeCore::departed(const std::string& function) {
  const auto it = tenants_.find(function);
  if (it == tenants_.end() || !it->second.running) return;
  if (named_relief_ && named_relief_->function == function) open_highest_window();
  stop_counting(it->second);
  advert_stale_ = true;
}

// A function back here after more than a day away: its model is from that earlier stay,
// while what it did since is in its gossiped summary (only the host running a function
// publishes it). It resumes from the summary, keeping the most it ever used here.
void NodeCore::resume_model(const std::string& name, shape::ShapeModel& model, uint32_t instances, int64_t unix_s) const {
  shape::ShapeModel fresh = new_model(name, instances, unix_s);
  if (fresh.samples() == 0) return;  // nothing heard: the old model is all there is
  fresh.raise_highest(model);
  model = std::move(fresh);
}

// A function measured here still learns from what gossip says of it (the record may be
// another host's: the function runs there too, or ran there before it came here):
//   - the most it was ever seen to use there raises its highest here (scaled to the
//     instances here), so the fleet's memory of a burst is not lost by moving;
//   - a model here that has less than a day of history, and less than half the
//     summary's, resumes from the summary (keeping its highest). This is the function
//     that started here before gossip brought its record (a host just opened, a record
//     still spreading), or one back within a day from a short earlier stay: learning it
//     afresh, this host would republish a summary that forgets its history, and the
//     fleet would forget it too (on Bitbrains' fleet replay that hid functions' 8-core
//     bursts behind 0.07-core summaries). The factor of two keeps two young hosts of
//     one function from adopting each other's model in turn.
void NodeCore::learn_from_gossip(const std::string& name, std::string_view blob) {
  uint64_t& read = gossip_read_[name];
  const uint64_t hash = std::hash<std::string_view>{}(blob);
  if (read == hash) return;
  read = hash;
  const auto model = models_.find(name);
  const std::optional<shape::Summary> s = shape::decode(blob);
  if (model == models_.end() || !s || !shape::summarises(*s, name)) return;
  const auto tenant = tenants_.find(name);
  const uint32_t instances = tenant == tenants_.end() ? 1 : std::max<uint32_t>(1, tenant->second.instances);
  const double history = history_of(*s, config_.shape);
  const double own = model->second.history_s();
  // (Our own record says at most an hour more than our model: history is sent in whole
  // hours, rounded up.)
  if (own < config_.shape.full_confidence_s && history >= 2 * own && history > own + 3600 && hear_function(name, blob)) {
    resume_model(name, model->second, instances, std::max(model->second.last_unix_s(), host_model_.last_unix_s()));
    return;
  }
  model->second.raise_highest(shape::highest_per_instance(*s) * instances,
                              shape::highest_seen_s(*s, model->second.last_unix_s()));
}

// Measured here within a day of this host's newest tick (a restored state counts: the
// host model is saved with the tenants' models).
bool NodeCore::measures(const std::string& name) const {
  const auto model = models_.find(name);
  return model != models_.end() && host_model_.last_unix_s() - model->second.last_unix_s() <= kForgetTenantAfterS;
}

// A function new to this host starts from what its gossiped summary says, so that a
// function that moves keeps its shape instead of learning it again from nothing.
shape::ShapeModel NodeCore::new_model(const std::string& name, uint32_t instances, int64_t unix_s) const {
  shape::ShapeModel model(config_.shape);
  if (relief_followed_) model.open_window();
  const auto heard = heard_.find(name);
  if (heard == heard_.end()) return model;
  const Heard& h = heard->second;
  const uint32_t slots = config_.shape.day.slots;
  const shape::SlotProfile grid{86400, std::vector<double>(slots), {}, {}};
  shape::SlotProfile day = on_slots_of(grid, h.day);
  for (auto* v : {&day.mean, &day.spread, &day.peak})
    for (double& x : *v) x *= instances;
  const shape::Summary& s = h.summary;
  model.seed(day, history_of(s, config_.shape), s.samples, h.sketch, unix_s, shape::highest_per_instance(s) * instances,
             shape::highest_seen_s(s, unix_s));
  return model;
}

void NodeCore::expire_reservations(double now_s) {
  for (auto it = tenants_.begin(); it != tenants_.end();) {
    Tenant& t = it->second;
    if (t.reserved && !t.confirmed && now_s - t.reserved_at_s > kReservationTimeoutS) t.reserved.reset();
    if (t.extra && now_s - t.extra_at_s > kReservationTimeoutS) t.extra.reset();
    if (!t.reserved && !t.confirmed) {
      it = tenants_.erase(it);
      continue;
    }
    ++it;
  }
}

void NodeCore::observe(const Tick& tick, double now_s) {
  if (!(tick.dt_s > 0)) return;
  const int64_t unix_s = tick.unix_ms / 1000;
  double total = 0;
  for (const auto& [name, f] : tick.functions) total += f.cores;
  expire_reservations(now_s);
  if (tick.memory_total_bytes) memory_total_bytes_ = tick.memory_total_bytes;
  memory_available_bytes_ = tick.memory_available_bytes;
  // Calibrate and estimate co-movement from predictions made *before* this tick is learned.
  calibrate(unix_s, total, tick.dt_s);
  const double fade = std::exp2(-tick.dt_s / kOverloadHalfLifeS);
  over_limit_s_ = over_limit_s_ * fade + (total > limit_cores() ? tick.dt_s : 0.0);
  measured_s_ = measured_s_ * fade + tick.dt_s;
  relief_watch_.tick(total, config_.capacity_cores, tick.dt_s, [&] {
    std::vector<TenantUsage> usage;
    for (const auto& [name, f] : tick.functions) usage.push_back({name, f.cores});
    return usage;
  });
  watch_relief(tick, unix_s);
  learn_tenants(tick, unix_s, 0.0);
  watch_newcomers(tick, unix_s);
  host_model_.add_sample(unix_s, total, tick.dt_s);
  last_tick_s_ = now_s;
  advert_stale_ = true;
}

// Functions admitted blind: the most each used per instance over its stay here (up to
// NewcomerConfig::watch_s), against what it requested. Looked up by watch, not by tick
// function: a host watches a few newcomers among hundreds of tenants.
void NodeCore::watch_newcomers(const Tick& tick, int64_t unix_s) {
  if (!newcomers_.watched()) return;
  newcomers_.observe(unix_s, [&](const std::string& name) -> std::optional<double> {
    const auto f = tick.functions.find(name);
    if (f == tick.functions.end()) return std::nullopt;
    return f->second.cores / std::max<uint32_t>(1, f->second.instances);
  });
}

std::optional<Relief> NodeCore::relief() const { return relief_watch_.relief(config_.relief_after_s); }

// The tenant named in an earlier tick gone, or running fewer instances, soon after: the
// platform acted on it. Then this tick's name, if any, is the one to watch.
void NodeCore::watch_relief(const Tick& tick, int64_t unix_s) {
  if (named_relief_ && static_cast<double>(unix_s - named_relief_->unix_s) <= kReliefFollowedWithinS) {
    const auto now = tick.functions.find(named_relief_->function);
    if (now == tick.functions.end() || std::max<uint32_t>(1, now->second.instances) < named_relief_->instances)
      open_highest_window();
  }
  if (const std::optional<Relief> r = relief()) {
    const auto f = tick.functions.find(r->function);
    named_relief_ = NamedRelief{r->function, f == tick.functions.end() ? 1 : std::max<uint32_t>(1, f->second.instances), unix_s};
  } else if (named_relief_ && static_cast<double>(unix_s - named_relief_->unix_s) > kReliefFollowedWithinS) {
    named_relief_.reset();
  }
}

void NodeCore::open_highest_window() {
  if (relief_followed_) return;
  relief_followed_ = true;
  for (auto& [name, model] : models_) model.open_window();
  host_model_.open_window();
  advert_stale_ = true;
}

CoMovementEstimate NodeCore::comovement() const {
  CoMovementAverage average;
  for (const auto& [name, t] : tenants_) average.include(t.comovement);
  return average.estimate();
}

CoMovementEstimate NodeCore::pairwise_comovement() const {
  if (pair_weight_s_ < 86400.0 || !(pair_norm_ > 0)) return {config_.comovement.prior, 0};
  uint32_t tenants = 0;
  for (const auto& [name, t] : tenants_) tenants += t.running;
  // Negative co-movement among tenants is measured, but not relied on.
  return {std::clamp((pair_total_ - pair_own_) / pair_norm_, 0.0, 1.0), tenants};
}

admission::HostMemory NodeCore::host_memory() const {
  if (advert_stale_) refresh_advert();  // kept with the view: both change only with ticks and reservations
  return host_memory_;
}

admission::HostMemory NodeCore::compute_host_memory() const {
  const MemoryConfig& m = config_.memory;
  std::vector<admission::TenantMemory> tenants;
  for (const auto& [name, t] : tenants_) {
    if (!counted(t)) continue;
    // Admitted but not measured yet: it counts with what it was admitted as, a limit.
    if (t.running) tenants.push_back(t.memory);
    if (t.reserved_memory_bytes) tenants.push_back({std::nullopt, t.reserved_memory_bytes});
  }
  admission::HostMemory h;
  h.capacity_bytes = m.capacity_bytes ? m.capacity_bytes : memory_total_bytes_.value_or(0);
  h.reserve_bytes = m.reserve_bytes;
  h.committed = admission::committed_memory(m.guard, tenants, h.capacity_bytes);
  h.available_bytes = memory_available_bytes_;
  return h;
}

size_t NodeCore::reservations() const {
  size_t n = 0;
  for (const auto& [name, t] : tenants_) n += t.reserved.has_value();
  return n;
}

std::map<std::string, uint32_t> NodeCore::running() const {
  std::map<std::string, uint32_t> out;
  for (const auto& [name, t] : tenants_)
    if (t.running) out.emplace_hint(out.end(), name, t.instances);
  return out;
}

const std::string& NodeCore::advert_blob() const {
  if (advert_stale_) refresh_advert();
  return advert_blob_;
}

const HostAdvert& NodeCore::advert() const {
  if (advert_stale_) refresh_advert();
  return advert_;
}

void NodeCore::refresh_advert() const {
  advert_stale_ = false;
  HostAdvert a;
  // The view: per slot, the tenants' means added up, and a spread whose cross terms use
  // their measured pairwise co-movement.
  const uint32_t slots = config_.shape.day.slots;
  std::vector<double> own(slots, 0.0), sum_sd(slots, 0.0);
  a.aggregate = shape::SlotProfile{86400, std::vector<double>(slots, 0.0), std::vector<double>(slots, 0.0),
                                   std::vector<double>(slots, host_model_.peak())};
  double admitted = 0, tenants_peak = 0;
  std::vector<double> lumps;
  const double lump_from = config_.policy.lump_share * limit_cores();
  for (const auto& [name, t] : tenants_) {
    if (!counted(t)) continue;
    const shape::SlotProfile p = tenant_profile(name, t);
    const double highest = tenant_highest(name, t);
    tenants_peak += highest;
    if (config_.policy.lump_share > 0 && highest >= lump_from) {
      const std::vector<double> excess = admission::lump_excess(p, highest, lump_from);
      if (std::any_of(excess.begin(), excess.end(), [](double e) { return e > 0; })) {
        lumps.resize(slots, 0.0);  // empty (nothing advertised) until there is a lump
        for (size_t w = 0; w < slots && w < excess.size(); ++w) lumps[w] += excess[w];
      }
    }
    for (size_t w = 0; w < slots; ++w) {
      a.aggregate.mean[w] += p.mean[w];
      own[w] += p.spread[w] * p.spread[w];
      sum_sd[w] += p.spread[w];
      admitted += p.mean[w] / slots;
    }
  }
  const double rho = pairwise_comovement().rho;
  for (size_t w = 0; w < slots; ++w)
    a.aggregate.spread[w] = std::sqrt(std::max(0.0, own[w] + rho * (sum_sd[w] * sum_sd[w] - own[w])));
  a.capacity_cores = config_.capacity_cores;
  a.limit_cores = limit_cores();
  a.z = calibrator_.z();
  a.tail = calibrator_.tail();
  const CoMovementEstimate co = comovement();
  a.comovement = co.tenants ? co.rho : config_.comovement.prior;
  a.comovement_tenants = co.tenants;
  a.relief_followed = relief_followed_;
  a.admitted_mean_cores = admitted;
  a.tenants_peak_cores = tenants_peak;
  a.lump_excess = std::move(lumps);
  a.measured_overload_rate = measured_overload_rate();
  a.confidence = host_model_.confidence();
  a.sketch = host_model_.sketch();
  host_memory_ = compute_host_memory();
  if (config_.memory.guard.mode != admission::CommittedMemoryMode::Off) {
    const admission::MemoryRoom room = admission::memory_room(host_memory_);
    a.memory_capacity_bytes = room.usable_bytes;
    a.memory_committed_bytes = room.usable_bytes - room.free_bytes;
  }
  std::string error;
  std::string blob = encode(a, &error);
  auto decoded = blob.empty() ? std::nullopt : decode_advert(blob);
  if (!decoded) return;  // keeps the previous advert; cannot happen for a model's own numbers
  advert_blob_ = std::move(blob);
  advert_ = std::move(*decoded);
  advert_embedding_ = shape::embed_profile(advert_.aggregate, config_.shape.k);
}

// ---------------------------------------------------------------- peers

bool NodeCore::hear_function(const std::string& name, std::string_view blob, std::string* error) {
  auto summary = shape::decode(blob, error);
  if (!summary) return false;
  if (!shape::summarises(*summary, name)) {
    if (error) *error = "summary names '" + summary->function + "', gossiped as '" + name + "'";
    return false;
  }
  Heard h;
  h.day = per_instance(shape::reconstruct_day(*summary), std::max<uint32_t>(1, summary->instances));
  h.embedding = shape::embedding_of(*summary, config_.shape.k);
  h.sketch = shape::dequantise(summary->sketch);
  h.shift = h.sketch.recent_shift();
  h.summary = std::move(*summary);
  h.heard_seq = ++hear_seq_;
  heard_[name] = std::move(h);
  if (config_.max_heard_functions && heard_.size() > config_.max_heard_functions) forget_least_recently_heard();
  return true;
}

// Every decision hears its candidate again first (hear_gossiped), so a dropped summary
// costs one decode when next asked about. The tenants here and the functions measured
// here are never dropped: their views read what was heard of them between decisions.
// An eighth goes at once, so the scan is paid once per cap/8 functions heard.
void NodeCore::forget_least_recently_heard() {
  const size_t keep = config_.max_heard_functions - config_.max_heard_functions / 8;
  std::vector<std::pair<uint64_t, std::string>> droppable;
  for (const auto& [name, h] : heard_)
    if (!tenants_.count(name) && !measures(name)) droppable.emplace_back(h.heard_seq, name);
  const size_t drop = std::min(droppable.size(), heard_.size() - std::min(heard_.size(), keep));
  std::nth_element(droppable.begin(), droppable.begin() + drop, droppable.end());
  for (size_t i = 0; i < drop; ++i) heard_.erase(droppable[i].second);
  heard_forgotten_ += drop;
}

bool NodeCore::hear_peer(const PeerUpdate& update, std::string* error) {
  Peer& peer = peers_[update.node_id];
  peer.endpoint = update.endpoint;
  peer.alive = update.alive;
  if (update.advert == peer.blob) return true;
  peer.blob = update.advert;
  peer.advert.reset();
  peer.embedding.reset();
  if (update.advert.empty()) return true;
  peer.advert = decode_advert(update.advert, error);
  if (peer.advert && peer.advert->relief_followed) open_highest_window();
  return peer.advert.has_value();
}

// ---------------------------------------------------------------- gossip, state, introspection

shape::Summary NodeCore::summary_of(const std::string& function, uint64_t version) const {
  const auto model = models_.find(function);
  if (model == models_.end()) return {};
  const auto live = tenants_.find(function);
  return shape::summarize(function, model->second, live == tenants_.end() ? 1 : live->second.instances, version);
}

std::string NodeCore::save_state() const { return shape::serialize_state(models_, host_model_, relief_followed_); }

bool NodeCore::load_state(std::string_view bytes, std::string* error) {
  std::map<std::string, shape::ShapeModel> models;
  shape::ShapeModel host(config_.shape);
  bool relief_followed = false;
  if (!shape::deserialize_state(bytes, &models, &host, error, &relief_followed)) return false;
  models_ = std::move(models);
  host_model_ = std::move(host);
  // Restored models come back closed: open them when the file, or this agent since it
  // started, saw relief acted upon.
  const bool open = relief_followed_ || relief_followed;
  relief_followed_ = false;
  if (open) open_highest_window();
  return true;
}

std::optional<shape::CorrelationEstimate> NodeCore::shape_correlation(const std::string& a, const std::string& b) const {
  const auto ma = models_.find(a), mb = models_.find(b);
  if (ma == models_.end() || mb == models_.end()) return std::nullopt;
  return shape::correlate(ma->second.embedding(), mb->second.embedding());
}

std::optional<shape::CorrelationEstimate> NodeCore::shape_correlation_with_host(const std::string& function) const {
  const auto m = models_.find(function);
  if (m == models_.end() || advert_blob().empty()) return std::nullopt;
  return shape::correlate(advert_embedding_, m->second.embedding().day);
}

}  // namespace antiphase::node
