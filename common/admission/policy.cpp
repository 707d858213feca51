#include "common/admission/policy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "common/admission/slot_window.h"
#include "common/admission/spread_pooling.h"

namespace antiphase::admission {
namespace {

std::string cores(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f cores", v);
  return buf;
}

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, fraction < 0.001 ? "%.3f %%" : "%.2f %%", 100.0 * fraction);
  return buf;
}

std::string number(double v, const char* format = "%.2f") {
  char buf[32];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

bool all_finite_non_negative(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x) && x >= 0.0; });
}

// Empty string when the profile is usable; otherwise what is wrong with it.
std::string profile_problem(const shape::SlotProfile& p) {
  if (p.slots() == 0) return "has no slots";
  if (p.spread.size() != p.slots() || p.peak.size() != p.slots()) return "has mean/spread/peak of different lengths";
  if (p.period_s == 0 || p.period_s % p.slots() != 0) return "has a period that is not a whole number of slots";
  if (!all_finite_non_negative(p.mean) || !all_finite_non_negative(p.spread) || !all_finite_non_negative(p.peak))
    return "contains negative or non-finite values";
  return {};
}

shape::SlotProfile flat_profile(uint32_t period_s, size_t slots, double level, double peak) {
  shape::SlotProfile p;
  p.period_s = period_s;
  p.mean.assign(slots, level);
  p.spread.assign(slots, 0.0);
  p.peak.assign(slots, peak);
  return p;
}

double max_of(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()); }

double mean_of(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

Decision reject(Decision d, std::string reason) {
  d.accept = false;
  d.reasons.insert(d.reasons.begin(), std::move(reason));
  return d;
}

// The candidate profile we size with, after the unknown-function and low-confidence
// guards. Returns nullopt (and a reason in `why`) when the candidate cannot be sized.
std::optional<shape::SlotProfile> sizing_profile(const Candidate& c, const PolicyConfig& cfg,
                                                 const shape::SlotProfile& host, std::string& why,
                                                 std::vector<std::string>& notes) {
  const uint32_t period = host.slots() ? host.period_s : 86400;
  const size_t slots = host.slots() ? host.slots() : 96;
  if (!c.profile) {
    if (cfg.unknown == UnknownFunction::Reject) {
      why = "Function '" + c.function + "' has no learned shape and the policy rejects unknown functions.";
      return std::nullopt;
    }
    const std::optional<double> size = c.request_peak_cores ? c.request_peak_cores : c.request_mean_cores;
    if (!size || !std::isfinite(*size) || *size < 0.0) {
      why = "Function '" + c.function + "' has no learned shape and the request gives no valid size (mean or peak).";
      return std::nullopt;
    }
    std::string note = "Function '" + c.function + "' is unknown here, so it is sized flat at the requested " +
                       (c.request_peak_cores ? "peak" : "mean") + " of " + cores(*size);
    if (c.request_scale > 1.0)
      note += " x " + number(c.request_scale) + " = " + cores(*size * c.request_scale) + " (" + c.request_scale_why + ")";
    notes.push_back(note + " per instance.");
    const double level = *size * std::max(1.0, c.request_scale);
    return flat_profile(period, slots, level, level);
  }
  if (std::string problem = profile_problem(*c.profile); !problem.empty()) {
    why = "The candidate's profile " + problem + ".";
    return std::nullopt;
  }
  if (!(c.confidence >= cfg.min_confidence)) {
    // Never below the profile it stands in for: a recent level shift can raise a slot's
    // mean above every peak seen. The peak stays the observed one (node::shifted).
    const double peak = max_of(c.profile->peak), level = std::max(peak, max_of(c.profile->mean));
    notes.push_back("Shape confidence " + number(c.confidence) + " is below " + number(cfg.min_confidence) +
                    " (too little history), so the candidate is sized at its observed peak " + cores(peak) +
                    (level > peak ? ", raised to its recent level " + cores(level) + "," : std::string()) +
                    " in every slot.");
    return flat_profile(c.profile->period_s, c.profile->slots(), level, peak);
  }
  return *c.profile;
}

// The candidate's own peak per instance, where one is known: the most it was ever seen
// to use, else its measured profile's peak (or its flat low-confidence stand-in, sized
// at its peak), or a peak given in the request. A requested mean is not a peak.
std::optional<double> candidate_peak(const Candidate& c, const shape::SlotProfile& sized) {
  if (c.profile) return std::max(max_of(sized.peak), c.highest_cores.value_or(0.0));
  if (c.request_peak_cores) return *c.request_peak_cores * std::max(1.0, c.request_scale);
  return std::nullopt;
}

// PolicyConfig::accept_when_peaks_fit: a candidate the projection refuses is still
// accepted when every tenant and the candidate at their observed peaks together fit
// under the limit.
// `headroom_cores`: accepted, the larger of the two rules' rooms; refused by the
// projection, its own shortfall (the sentence quotes it); refused by the brake, the
// shortfall at peaks (what the host would still take).
// Every tenant at its own highest use and n times the candidate's, all at once (NaN when
// either is unknown).
double peaks_fit_sum(const HostView& host, const Candidate& c, const shape::SlotProfile& sized) {
  const std::optional<double> peak = candidate_peak(c, sized);
  return peak ? host.tenants_peak_cores + c.instances * *peak : std::numeric_limits<double>::quiet_NaN();
}

void apply_peaks_fit(Decision& d, bool enabled, bool braked, const HostView& host, const Candidate& c,
                     const shape::SlotProfile& sized, const std::string& what) {
  d.peaks_fit_cores = peaks_fit_sum(host, c, sized);
  const bool known = std::isfinite(d.peaks_fit_cores);
  if (braked) d.headroom_cores = known && enabled ? d.limit_cores - d.peaks_fit_cores : 0.0;
  if (!known || !enabled) return;
  const double room_at_peaks = d.limit_cores - d.peaks_fit_cores;
  if (d.accept) d.headroom_cores = std::max(d.headroom_cores, room_at_peaks);
  if (d.accept || room_at_peaks < 0) {
    if (!d.accept && !braked)
      d.reasons.push_back("At their observed peaks the tenants and the candidate come to " + cores(d.peaks_fit_cores) +
                          ", " + cores(-room_at_peaks) + " over the limit, so the peaks-fit rule refuses it too.");
    return;
  }
  d.headroom_cores = std::max(d.headroom_cores, room_at_peaks);
  d.accept = true;
  d.accepted_because_peaks_fit = true;
  // What would have refused it follows, as such.
  const std::string refused = "Rejected " + what + ": ";
  for (std::string& r : d.reasons)
    if (r.rfind(refused, 0) == 0) r = "Without the peaks-fit rule it would be refused: " + r.substr(refused.size());
  d.reasons.insert(d.reasons.begin(),
                   "Accepted " + what + " because the peaks fit: every tenant at its own observed peak and the "
                   "candidate at its peak, all at once, come to " + cores(d.peaks_fit_cores) + ", within the limit of " +
                   cores(d.limit_cores) + ".");
}

}  // namespace

std::vector<double> lump_excess(const shape::SlotProfile& p, double highest, double jump) {
  const double top = p.peak.empty() ? 0.0 : *std::max_element(p.peak.begin(), p.peak.end());
  const double scale = top > 0 && highest > top ? highest / top : 1.0;
  std::vector<double> out(p.slots(), 0.0);
  for (size_t w = 0; w < out.size() && w < p.peak.size(); ++w) {
    const double excess = p.peak[w] * scale - p.mean[w];
    if (excess >= jump) out[w] = excess;
  }
  return out;
}

namespace {

// PolicyConfig::lump_share: the load in the worst slot with the host's lumps, and the
// candidate's if it has any, at their peaks for the time of day and everything else at
// its slot mean; NaN when there is no lump. Per slot, so tenants that take turns by
// time of day (the day/night pairs antiphase exists for) still share a host.
double lumps_worst_slot(const HostView& host, const Candidate& c, const shape::SlotProfile& sized, double share,
                        double limit, size_t* worst_slot) {
  if (!(share > 0)) return std::numeric_limits<double>::quiet_NaN();
  const std::optional<double> peak = candidate_peak(c, sized);
  const double n = c.instances;
  // n instances jump together: the jump that makes a lump is per function.
  const std::vector<double> own = peak ? lump_excess(sized, *peak, share * limit / n) : std::vector<double>{};
  const bool candidate_is_lump = std::any_of(own.begin(), own.end(), [](double e) { return e > 0; });
  if (host.lump_excess.empty() && !candidate_is_lump) return std::numeric_limits<double>::quiet_NaN();
  double worst = -INFINITY;
  for (size_t w = 0; w < sized.slots(); ++w) {
    double load = n * sized.mean[w];
    if (w < host.aggregate.slots()) load += host.aggregate.mean[w];
    if (w < host.lump_excess.size()) load += host.lump_excess[w];
    if (w < own.size()) load += n * own[w];
    if (load > worst) worst = load, *worst_slot = w;
  }
  return worst;
}

// A rule after the projection refuses what it accepted: its sentence ("Rejected ...")
// goes first, and the projection's own is kept as what it alone would have done.
void overrule_projection(Decision& d, const std::string& what, std::string refusal) {
  d.accept = false;
  const std::string accepted = "Accepted " + what + ": ";
  if (d.reasons.back().rfind(accepted, 0) == 0)
    d.reasons.back() = "The projection alone would accept it: " + d.reasons.back().substr(accepted.size());
  d.reasons.insert(d.reasons.end() - 1, std::move(refusal));
}

void apply_lumps(Decision& d, const HostView& host, const Candidate& c, const shape::SlotProfile& sized,
                 double share, const std::string& what) {
  size_t slot = 0;
  d.lumps_cores = lumps_worst_slot(host, c, sized, share, d.limit_cores, &slot);
  if (!d.accept || !(d.lumps_cores > d.limit_cores)) return;
  d.headroom_cores = d.limit_cores - d.lumps_cores;
  overrule_projection(d, what,
                      "Rejected " + what + ": tenants seen to jump by " + percent(share) +
                          " of the limit or more are not overcommitted by the projection, and with those jumps at "
                          "their observed peaks for the time of day and the rest at their means, " +
                          slot_window(sized.period_s, sized.slots(), slot) + " comes to " + cores(d.lumps_cores) +
                          ", " + cores(d.lumps_cores - d.limit_cores) + " over the limit of " +
                          cores(d.limit_cores) + ".");
}

// target_overload_rate = 0, the careful end of the knob: no statistical overcommit.
// Accept only what fits when every tenant and the candidate run at the most they were
// ever seen to use, all at once -- what peak-sum packing accepts. However bursty the
// validation data that chose the knob, the rule then never needs more hosts than
// packing by peaks would (docs/admission.md).
void decide_at_peaks(Decision& d, const HostView& host, const Candidate& c, const shape::SlotProfile& sized,
                     const std::string& what) {
  const std::string rule = "the target overload rate is 0, which admits only what fits at observed peaks";
  d.peaks_fit_cores = peaks_fit_sum(host, c, sized);
  if (!std::isfinite(d.peaks_fit_cores)) {
    d.accept = false;
    d.headroom_cores = 0.0;
    d.reasons.push_back("Rejected " + what + ": " + rule + ", and " +
                        (std::isfinite(host.tenants_peak_cores)
                             ? std::string("the candidate has no known peak (a requested mean is not one)")
                             : std::string("this host's tenants' peaks are unknown")) +
                        ".");
    return;
  }
  d.headroom_cores = d.limit_cores - d.peaks_fit_cores;
  d.accept = d.headroom_cores >= 0.0;
  d.reasons.push_back((d.accept ? "Accepted " : "Rejected ") + what + ": " + rule +
                      "; every tenant at its own observed peak and the candidate at its peak, all at once, come to " +
                      cores(d.peaks_fit_cores) + (d.accept ? ", within" : ", over") + " the limit of " +
                      cores(d.limit_cores) + " (" + cores(std::abs(d.headroom_cores)) +
                      (d.accept ? " to spare)." : " too much)."));
}

}  // namespace

Projection project(const shape::SlotProfile& host, const shape::SlotProfile& candidate, uint32_t instances,
                   double rho, double z) {
  const size_t slots = candidate.slots();
  const bool host_empty = host.slots() == 0;
  const double n = instances;
  Projection p;
  p.mean.resize(slots);
  p.spread.resize(slots);
  p.quantile.resize(slots);
  p.peak = -INFINITY;
  for (size_t w = 0; w < slots; ++w) {
    const double mu_h = host_empty ? 0.0 : host.mean[w];
    const double sd_h = host_empty ? 0.0 : host.spread[w];
    const double sd_c = n * candidate.spread[w];
    // rho ≥ -1 keeps the variance non-negative, but guard rounding anyway.
    const double variance = std::max(0.0, sd_h * sd_h + sd_c * sd_c + 2.0 * rho * sd_h * sd_c);
    p.mean[w] = mu_h + n * candidate.mean[w];
    p.spread[w] = std::sqrt(variance);
    const double q = p.mean[w] + z * p.spread[w];
    p.quantile[w] = q;
    if (q > p.peak) {
      p.peak = q;
      p.binding_slot = w;
    }
  }
  if (slots == 0) p.peak = 0.0;
  return p;
}

double overload_rate(const Projection& p, double limit, const TailModel& tail, double delta, size_t* worst_slot) {
  const size_t slots = p.mean.size();
  if (slots == 0) return 0.0;
  double sum = 0.0, worst = -1.0;
  for (size_t w = 0; w < slots; ++w) {
    const double room = limit - delta - p.mean[w];
    // A slot without spread is over the limit all the time or never.
    const double share = p.spread[w] > 0 ? tail.exceedance(room / p.spread[w]) : (room < 0 ? 1.0 : 0.0);
    sum += share;
    if (share > worst) {
      worst = share;
      if (worst_slot) *worst_slot = w;
    }
  }
  return sum / static_cast<double>(slots);
}

double rate_headroom(const Projection& p, double limit, const TailModel& tail, double target) {
  // overload_rate grows with delta: bisect between shedding and doubling the limit.
  double lo = -limit, hi = limit;
  if (overload_rate(p, limit, tail, lo) > target) return lo;
  if (overload_rate(p, limit, tail, hi) <= target) return hi;
  while (hi - lo > 0.005 * limit) {
    const double mid = 0.5 * (lo + hi);
    (overload_rate(p, limit, tail, mid) <= target ? lo : hi) = mid;
  }
  return lo;
}

std::optional<shape::SlotProfile> AdmissionPolicy::size(const Candidate& candidate, const shape::SlotProfile& host_shape,
                                                       std::string* why) const {
  std::string reason;
  std::vector<std::string> notes;
  auto sized = sizing_profile(candidate, config_, host_shape, reason, notes);
  if (!sized && why) *why = reason;
  return sized;
}

namespace {

// What makes a request undecidable before anything is projected; nullopt when usable.
std::optional<std::string> undecidable(const HostView& host, const Candidate& candidate, double z,
                                       double max_telemetry_age_s) {
  if (!std::isfinite(host.capacity_cores) || host.capacity_cores <= 0.0)
    return "The host capacity is unknown or not positive, so nothing can be admitted.";
  if (candidate.instances == 0) return "A request for 0 instances is not a placement.";
  if (!std::isfinite(z)) return "The safety margin z is not a number; the calibrator needs attention.";
  if (!(host.telemetry_age_s <= max_telemetry_age_s))
    return "Host telemetry is " + number(host.telemetry_age_s, "%.0f") + " s old (limit " +
           number(max_telemetry_age_s, "%.0f") + " s): refusing rather than deciding on stale data.";
  if (host.aggregate.slots() != 0) {
    if (std::string problem = profile_problem(host.aggregate); !problem.empty())
      return "The host aggregate profile " + problem + ".";
  }
  return std::nullopt;
}

// What makes a sized candidate unfit to add to this host before any projection.
std::optional<std::string> unaddable(const HostView& host, const Candidate& candidate,
                                     const shape::SlotProfile& sized, const std::optional<double>& mean_cap) {
  if (host.aggregate.slots() != 0 &&
      (sized.slots() != host.aggregate.slots() || sized.period_s != host.aggregate.period_s))
    return "The candidate's profile has " + std::to_string(sized.slots()) + " slots over " +
           std::to_string(sized.period_s) + " s but the host's has " + std::to_string(host.aggregate.slots()) +
           " over " + std::to_string(host.aggregate.period_s) + " s; they cannot be added.";
  if (mean_cap) {
    const double after = host.admitted_mean_cores + candidate.instances * mean_of(sized.mean);
    if (after > *mean_cap)
      return "Admitting it would raise the total admitted mean load to " + cores(after) +
             ", above the configured cap of " + cores(*mean_cap) + ".";
  }
  return std::nullopt;
}

// Rule::OverloadRate with a positive target: the share of host-time the projection puts
// above the limit, against the target.
void judge_overload_rate(Decision& d, const Projection& p, const HostView& host, const shape::SlotProfile& sized,
                         const std::string& what) {
  size_t worst = p.binding_slot;
  d.projected_overload_rate = overload_rate(p, d.limit_cores, host.tail, 0.0, &worst);
  // Far under the limit no slot contributes anything: name the highest one.
  if (!(d.projected_overload_rate > 0)) worst = p.binding_slot;
  d.binding_slot = worst;
  d.binding_window = slot_window(sized.period_s, sized.slots(), worst);
  d.projected_peak_cores = p.peak;
  d.headroom_cores = rate_headroom(p, d.limit_cores, host.tail, d.target_overload_rate);
  d.accept = d.projected_overload_rate <= d.target_overload_rate;
  const std::string rates = "the projected load is above the limit of " + cores(d.limit_cores) + " " +
                            percent(d.projected_overload_rate) + " of the time (target " +
                            percent(d.target_overload_rate) + "), most during " + d.binding_window;
  if (d.accept)
    d.reasons.push_back("Accepted " + what + ": " + rates + "; " + cores(d.headroom_cores) +
                        " more would still meet the target.");
  else
    d.reasons.push_back("Rejected " + what + ": " + rates + "; it would need " + cores(-d.headroom_cores) +
                        " less load to meet the target.");
}

// Rule::SlotQuantile (the what-if): the projected mean + z·spread of every slot under the limit.
void judge_slot_quantile(Decision& d, const Projection& p, const shape::SlotProfile& sized, const std::string& what) {
  d.binding_slot = p.binding_slot;
  d.binding_window = slot_window(sized.period_s, sized.slots(), p.binding_slot);
  d.projected_peak_cores = p.peak;
  d.headroom_cores = d.limit_cores - p.peak;
  d.accept = p.peak <= d.limit_cores;
  if (d.accept)
    d.reasons.push_back("Accepted " + what + ": the projected load peaks at " + cores(p.peak) + " during " +
                        d.binding_window + ", within the limit of " + cores(d.limit_cores) + " (" +
                        cores(d.headroom_cores) + " to spare).");
  else
    d.reasons.push_back("Rejected " + what + ": the projected load reaches " + cores(p.peak) + " during " +
                        d.binding_window + ", above the limit of " + cores(d.limit_cores) + " by " +
                        cores(-d.headroom_cores) + ".");
}

// A host measured above its limit more often than the target takes only what fits at
// its tenants' peaks (PolicyConfig::accept_when_peaks_fit); true when it applies.
bool apply_brake(Decision& d, const HostView& host, bool peaks_fit_on, const std::string& what) {
  const bool braked = peaks_fit_on && d.accept && host.measured_overload_rate > d.target_overload_rate;
  if (braked)
    overrule_projection(d, what,
                        "Rejected " + what + ": this host was measured above its limit " +
                            percent(host.measured_overload_rate) + " of recent host-time (target " +
                            percent(d.target_overload_rate) + "), so its projection has been too hopeful here; "
                            "until that fades it takes only what fits at its tenants' peaks.");
  return braked;
}

// The explanation every decision ends with: what the shapes saved, and the terms used.
void explain_shapes(Decision& d, double projected_peak) {
  d.anticorrelation_saving_cores = d.peak_sum_cores - projected_peak;
  if (d.anticorrelation_saving_cores > 0.0)
    d.reasons.push_back("Because host and candidate do not peak together, the projection is " +
                        cores(d.anticorrelation_saving_cores) + " below the sum of their peaks (" +
                        cores(d.peak_sum_cores) + ").");
  d.reasons.push_back("Shape correlation with the host is " + number(d.correlation) + " ± " +
                      number(std::abs(d.correlation_bound)) + (d.correlation + std::abs(d.correlation_bound) < 0
                                                                 ? " (it moves against the host)"
                                                                 : "") +
                      "; within a slot their deviations were assumed to move together at " + number(d.comovement) +
                      " (" + d.comovement_source + "), with margin z = " + number(d.z) + ".");
}

}  // namespace

Decision AdmissionPolicy::decide(const HostView& host, const Candidate& candidate, double z) const {
  Decision d;
  d.function = candidate.function;
  d.instances = candidate.instances;
  d.capacity_cores = host.capacity_cores;
  d.limit_cores = host.limit_cores > 0 ? host.limit_cores : config_.target_utilisation * host.capacity_cores;
  d.confidence = candidate.confidence;
  d.sizing = candidate.sizing;
  d.z = std::isfinite(z) ? std::max(0.0, z) : 0.0;
  d.correlation = candidate.correlation.rho;
  d.correlation_bound = candidate.correlation.bound;
  if (auto why = undecidable(host, candidate, z, config_.max_telemetry_age_s)) return reject(d, *why);

  std::string why;
  std::vector<std::string> notes;
  const std::optional<shape::SlotProfile> sized = sizing_profile(candidate, config_, host.aggregate, why, notes);
  if (!sized) return reject(d, why);
  if (auto why_not = unaddable(host, candidate, *sized, config_.max_admitted_mean_cores)) return reject(d, *why_not);

  // A non-finite co-movement means we know nothing: assume fully together.
  const CoMovement co = std::isfinite(candidate.comovement.rho) ? candidate.comovement : CoMovement{};
  d.comovement = std::clamp(co.rho, -1.0, 1.0);
  d.comovement_source = co.source;

  const uint32_t k = config_.spread_neighbours;
  // Copies only when pooling is on: decide() runs per host per candidate in the replay.
  const Projection p = k == 0 ? project(host.aggregate, *sized, candidate.instances, d.comovement, d.z)
                              : project(pool_spread_over_neighbours(host.aggregate, k),
                                        pool_spread_over_neighbours(*sized, k), candidate.instances,
                                        d.comovement, d.z);
  d.target_overload_rate = config_.target_overload_rate;
  d.peak_sum_cores = max_of(host.aggregate.peak) + candidate.instances * max_of(sized->peak);
  d.measured_overload_rate = host.measured_overload_rate;
  const std::string what = std::to_string(candidate.instances) + " instance(s) of '" + candidate.function + "'";
  const bool at_peaks = config_.rule == Rule::OverloadRate && !(config_.target_overload_rate > 0.0);
  if (at_peaks) {
    d.binding_slot = p.binding_slot;
    d.binding_window = slot_window(sized->period_s, sized->slots(), p.binding_slot);
    d.projected_peak_cores = p.peak;
    d.projected_overload_rate = overload_rate(p, d.limit_cores, host.tail, 0.0);
    decide_at_peaks(d, host, candidate, *sized, what);
  } else {
    if (config_.rule == Rule::OverloadRate)
      judge_overload_rate(d, p, host, *sized, what);
    else
      judge_slot_quantile(d, p, *sized, what);
    apply_lumps(d, host, candidate, *sized, config_.lump_share, what);
    const bool braked = apply_brake(d, host, config_.accept_when_peaks_fit, what);
    apply_peaks_fit(d, config_.accept_when_peaks_fit, braked, host, candidate, *sized, what);
  }
  explain_shapes(d, p.peak);
  d.reasons.insert(d.reasons.end(), notes.begin(), notes.end());
  return d;
}

}  // namespace antiphase::admission
