// The node core's questions: sizing a candidate from what the host knows, its
// co-movement with a host, the rule and the memory guard on one host, and admit, rank
// and place over this host and its peers. (Measurement and the view: node_core.cpp.)
#include <algorithm>
#include <cmath>
#include <tuple>

#include "common/admission/rank.h"
#include "common/node/node_core.h"
#include "common/node/profiles.h"
#include "common/shape/embedding.h"

namespace antiphase::node {

// What the host knows about the function asking to join, wherever that came from.
struct NodeCore::Candidate {
  admission::Candidate base;   // profile per instance, confidence, sizing, request sizes
  shape::Embedding embedding;  // empty when nothing is known about its shape
  shape::ResidualSketch sketch;
  admission::MemoryNeed memory;
};

// ---------------------------------------------------------------- decisions

Answer NodeCore::candidate_for(const AdmitRequest& r, Candidate* out) const {
  Answer a;
  if (r.function.empty()) {
    a.error = "\"function\" (a non-empty string) is required";
    return a;
  }
  if (r.instances < 1) {
    a.error = "\"instances\" must be at least 1";
    return a;
  }
  admission::Candidate& c = out->base;
  c.function = r.function;
  {
    const auto here = tenants_.find(r.function);
    const auto heard = heard_.find(r.function);
    std::optional<uint64_t> gossiped;
    if (heard != heard_.end() && heard->second.summary.memory_peak_bytes) gossiped = *heard->second.summary.memory_peak_bytes;
    out->memory = admission::memory_need(config_.memory.guard, r.instances, r.memory_bytes,
                                         here == tenants_.end() ? std::nullopt : here->second.instance_peak_bytes, gossiped);
  }
  c.instances = r.instances;
  c.request_mean_cores = r.mean_cores;
  c.request_peak_cores = r.peak_cores;
  const auto model = models_.find(r.function);
  if (model != models_.end() && (measures(r.function) || !heard_.count(r.function))) {
    const auto live = tenants_.find(r.function);
    const uint32_t running = live == tenants_.end() || !live->second.running ? 1 : live->second.instances;
    c.profile = per_instance(
        shifted(model->second.day_profile(), model->second.sketch().recent_shift(), model->second.highest()), running);
    c.highest_cores = model->second.highest() / running;
    c.confidence = model->second.confidence();
    c.sizing = "learned here over " + fixed(model->second.history_s() / 3600.0, "%.1f") + " h";
    out->embedding = model->second.embedding();
    out->sketch = model->second.sketch();
  } else if (const auto heard = heard_.find(r.function); heard != heard_.end()) {
    const Heard& h = heard->second;
    const double highest = shape::highest_per_instance(h.summary);
    c.profile = shifted(h.day, h.shift / std::max<uint32_t>(1, h.summary.instances), highest);
    c.highest_cores = highest;
    if (model != models_.end()) c.highest_cores = std::max(*c.highest_cores, model->second.highest());  // an earlier stay here
    c.confidence = h.summary.confidence;
    c.sizing = "gossiped summary (" + std::to_string(h.summary.samples) + " samples on another host)";
    out->embedding = h.embedding;
    out->sketch = h.sketch;
  } else if (r.profile) {
    if (std::string problem = profile_problem(*r.profile); !problem.empty()) {
      a.error = "\"profile\" " + problem;
      return a;
    }
    shape::SlotProfile p = *r.profile;
    p.peak.resize(p.slots());
    for (size_t w = 0; w < p.slots(); ++w) p.peak[w] = p.mean[w] + 3 * p.spread[w];
    out->embedding = shape::Embedding{shape::embed_profile(p, config_.shape.k), {}};
    c.profile = std::move(p);
    c.confidence = 1.0;
    c.sizing = "profile given in the request";
  } else {
    c.confidence = 0.0;  // nothing measured: the policy sizes it from the request or refuses it
    c.sizing = r.peak_cores   ? "requested peak (never measured)"
               : r.mean_cores ? "requested mean (never measured)"
                              : "unknown";
    scale_request_by_newcomers(c);
  }
  return a;
}

// Where functions admitted blind used more than they requested, an unknown function's
// request is scaled up by what they showed (NewcomerSizing); never down.
void NodeCore::scale_request_by_newcomers(admission::Candidate& c) const {
  const double factor = newcomers_.factor();
  if (!(factor > 1.0) || !(c.request_peak_cores || c.request_mean_cores)) return;
  c.request_scale = factor;
  c.request_scale_why = "the " + fixed(100 * config_.newcomers.quantile, "%.0f") + "th percentile of what the last " +
                        std::to_string(newcomers_.samples()) +
                        " functions admitted here unmeasured used at most per core they requested";
}

admission::CoMovement NodeCore::comovement_for(const Target& target, const Candidate& candidate,
                                               const admission::Correlation& shape_corr) const {
  const CoMovementConfig& cfg = config_.comovement;
  const HostAdvert& h = *target.advert;
  const std::string host_part = h.comovement_tenants
                                    ? "host estimate " + fixed(h.comovement) + " from " +
                                          std::to_string(h.comovement_tenants) + " tenant(s)"
                                    : "prior " + fixed(h.comovement) + " (no tenant history yet)";
  switch (cfg.mode) {
    case CoMovementMode::Fixed:
      return {cfg.prior, "fixed " + fixed(cfg.prior)};
    case CoMovementMode::Shape:
      return {std::clamp(shape_corr.rho + std::abs(shape_corr.bound), -1.0, 1.0), "shape correlation + bound"};
    case CoMovementMode::Host:
      return {std::clamp(h.comovement, 0.0, 1.0), host_part};
    case CoMovementMode::Sketch:
    case CoMovementMode::Learned: {
      // Learned: what the host measured among its tenants (the prior until it has a
      // tenant with a day of history), raised by the candidate's recent deviations
      // against the host's where they show more co-movement than chance would: the
      // sketch's correlation less two standard errors (≈ 2/√hours).
      const shape::SketchCorrelation s = shape::ResidualSketch::correlate(h.sketch, candidate.sketch);
      double rho = cfg.prior;
      std::string why = "prior " + fixed(cfg.prior);
      if (cfg.mode == CoMovementMode::Learned && h.comovement_tenants) {
        rho = h.comovement;
        why = host_part;
      }
      if (s.hours >= cfg.min_sketch_hours) {
        const double shown = s.rho - 2.0 / std::sqrt(static_cast<double>(s.hours));
        if (shown > rho) rho = shown;
        why += "; recent hourly deviations " + fixed(s.rho) + " over " + std::to_string(s.hours) + " h";
      }
      return {std::clamp(rho, 0.0, 1.0), why};
    }
  }
  return {};
}

std::pair<admission::Decision, admission::MemoryVerdict> NodeCore::decide_on(const Target& target,
                                                                             const Candidate& candidate) const {
  admission::Candidate c = candidate.base;
  if (c.profile) c.profile = on_slots_of(target.advert->aggregate, *c.profile);
  if (!candidate.embedding.day.empty()) {
    const auto corr = shape::correlate(*target.embedding, candidate.embedding.day);
    c.correlation = {corr.rho, corr.bound};
  }
  c.comovement = comovement_for(target, candidate, c.correlation);
  admission::Decision d = policy_.decide(view_of(*target.advert, target.telemetry_age_s), c, target.advert->z);
  const admission::MemoryGuardConfig& guard = config_.memory.guard;
  admission::MemoryVerdict memory;
  if (guard.mode == admission::CommittedMemoryMode::Off) {
    memory.fits = true;
    memory.function = c.function;
  } else if (target.local) {
    memory = admission::check_memory(guard, host_memory(), c.function, candidate.memory);
  } else if (target.advert->memory_capacity_bytes > 0) {
    const HostAdvert& a = *target.advert;
    const uint64_t free = a.memory_capacity_bytes > a.memory_committed_bytes ? a.memory_capacity_bytes - a.memory_committed_bytes : 0;
    memory = admission::check_memory(guard, free, c.function, candidate.memory);
  } else {
    // A peer that reports no memory (an older agent, or its guard is off): CPU only.
    memory.fits = true;
    memory.function = c.function;
  }
  admission::merge_memory(d, memory);
  return {std::move(d), std::move(memory)};
}

NodeCore::Target NodeCore::local_target(double now_s) const {
  if (advert_stale_) refresh_advert();
  Target t;
  t.local = true;
  t.advert = &advert_;
  t.embedding = &advert_embedding_;
  // Never measured: as stale as it gets.
  t.telemetry_age_s = last_tick_s_ ? std::max(0.0, now_s - *last_tick_s_) : 1e9;
  if (advert_blob_.empty()) {  // before the first tick: an empty host of our capacity
    unmeasured_advert_ = advert_;
    unmeasured_advert_.capacity_cores = config_.capacity_cores;
    unmeasured_advert_.limit_cores = limit_cores();
    unmeasured_advert_.z = calibrator_.z();
    unmeasured_advert_.tail = calibrator_.tail();
    unmeasured_advert_.comovement = config_.comovement.prior;
    t.advert = &unmeasured_advert_;
  }
  return t;
}

NodeCore::Target NodeCore::peer_target(const Peer& peer) const {
  if (!peer.embedding) peer.embedding = shape::embed_profile(peer.advert->aggregate, config_.shape.k);
  return {&*peer.advert, &*peer.embedding, 0, false};
}

Answer NodeCore::admit(const AdmitRequest& request, double now_s) const {
  Candidate c;
  Answer a = candidate_for(request, &c);
  if (!a.ok()) return a;
  std::tie(a.decision, a.memory) = decide_on(local_target(now_s), c);
  return a;
}

Answer NodeCore::admit_and_reserve(const AdmitRequest& request, double now_s) {
  Candidate c;
  Answer a = candidate_for(request, &c);
  if (!a.ok()) return a;
  const Target here = local_target(now_s);
  std::tie(a.decision, a.memory) = decide_on(here, c);
  if (!a.decision.accept) return a;
  admission::Candidate sized = c.base;
  if (sized.profile) sized.profile = on_slots_of(here.advert->aggregate, *sized.profile);
  std::optional<shape::SlotProfile> p = policy_.size(sized, here.advert->aggregate, nullptr);
  if (!p) return a;
  for (auto* v : {&p->mean, &p->spread, &p->peak})
    for (double& x : *v) x *= request.instances;
  // Its highest use counts in the view's sum of peaks (tenant_highest) until it is measured.
  if (c.base.highest_cores && !p->peak.empty()) {
    double& top = *std::max_element(p->peak.begin(), p->peak.end());
    top = std::max(top, *c.base.highest_cores * request.instances);
  }
  Tenant& t = tenants_[request.function];
  if (a.memory.checked) t.reserved_memory_bytes = t.reserved_memory_bytes.value_or(0) + a.memory.need_bytes;
  const auto model = models_.find(request.function);
  if (t.running && model != models_.end() && model->second.confidence() >= config_.policy.min_confidence) {
    t.extra = std::move(p);
    t.extra_at_s = now_s;
  } else {
    t.reserved = std::move(p);
    t.reserved_blind = !c.base.profile;
    t.reserved_at_s = now_s;
    if (t.reserved_blind && !t.running) {
      const std::optional<double> asked = request.peak_cores ? request.peak_cores : request.mean_cores;
      if (asked) newcomers_.admitted(request.function, *asked);  // as requested, before any scaling
    }
    t.confirmed = t.running;
  }
  advert_stale_ = true;
  return a;
}

namespace {

// Accepted first, best fit first (admission::rank_decisions); among the rejected, those
// that would not fit in memory last: a memory-full host must never lead a ranking.
std::vector<size_t> ranked_order(const std::vector<std::pair<admission::Decision, admission::MemoryVerdict>>& judged) {
  std::vector<admission::Decision> decisions;
  for (const auto& j : judged) decisions.push_back(j.first);
  std::vector<size_t> order;
  for (const auto& r : admission::rank_decisions(std::move(decisions))) order.push_back(r.index);
  std::stable_partition(order.begin(), order.end(), [&](size_t i) { return !judged[i].second.checked || judged[i].second.fits; });
  return order;
}

}  // namespace

RankAnswer NodeCore::rank(const std::vector<AdmitRequest>& requests, double now_s) const {
  RankAnswer out;
  const Target here = local_target(now_s);
  std::vector<std::pair<admission::Decision, admission::MemoryVerdict>> judged;
  for (size_t i = 0; i < requests.size(); ++i) {
    Candidate c;
    const Answer a = candidate_for(requests[i], &c);
    if (!a.ok()) {
      out.error = "candidate " + std::to_string(i) + ": " + a.error;
      return out;
    }
    judged.push_back(decide_on(here, c));
  }
  for (size_t i : ranked_order(judged)) out.ranking.push_back(std::move(judged[i]));
  return out;
}

PlaceAnswer NodeCore::place(const AdmitRequest& request, double now_s) const {
  PlaceAnswer out;
  Candidate c;
  const Answer a = candidate_for(request, &c);
  if (!a.ok()) {
    out.error = a.error;
    return out;
  }
  std::vector<PlaceOption> options{{node_id_, endpoint_, true, {}, {}}};
  std::vector<std::pair<admission::Decision, admission::MemoryVerdict>> judged{decide_on(local_target(now_s), c)};
  for (const auto& [id, peer] : peers_) {
    if (!peer.alive || !peer.advert) continue;
    // An alive peer's advert is current: the peer re-sends it whenever it moves, and
    // liveness is the membership layer's job (SWIM suspects a silent host in seconds).
    // Only this host's own telemetry can be stale here.
    judged.push_back(decide_on(peer_target(peer), c));
    options.push_back({id, peer.endpoint, false, {}, {}});
  }
  for (size_t i : ranked_order(judged)) {
    PlaceOption o = options[i];
    std::tie(o.decision, o.memory) = std::move(judged[i]);
    out.hosts.push_back(std::move(o));
  }
  return out;
}

}  // namespace antiphase::node
