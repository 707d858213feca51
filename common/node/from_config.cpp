#include "common/node/from_config.h"

#include <algorithm>

namespace antiphase::node {

shape::ShapeConfig shape_config_from(const config::Config& c) {
  shape::ShapeConfig s;
  s.day = {c.shape.day_slots, 86400};
  s.hour = {c.shape.hour_slots, 3600};
  s.k = c.shape.k;
  s.hour_k = c.shape.hour_k;
  s.half_life_periods = c.shape.half_life_periods;
  s.full_confidence_s = c.shape.full_confidence_s;
  s.highest_window_s = c.shape.highest_window_s;
  s.highest_window_after_relief = c.shape.highest_window_after_relief;
  return s;
}

admission::PolicyConfig policy_config_from(const config::Config& c) {
  admission::PolicyConfig p;
  p.target_utilisation = c.admission.target_utilisation;
  p.target_overload_rate = c.admission.target_overload_rate;
  p.max_telemetry_age_s = c.admission.stale_after_s;
  p.min_confidence = c.admission.min_confidence;
  p.unknown = c.admission.unknown_function == "reject" ? admission::UnknownFunction::Reject
                                                       : admission::UnknownFunction::SizeFromRequest;
  if (c.admission.max_admitted_cores > 0) p.max_admitted_mean_cores = c.admission.max_admitted_cores;
  p.rule = c.admission.rule == "slot_quantile" ? admission::Rule::SlotQuantile : admission::Rule::OverloadRate;
  p.accept_when_peaks_fit = c.admission.accept_when_peaks_fit;
  p.lump_share = c.admission.lump_share;
  return p;
}

admission::CalibratorConfig calibrator_config_from(const config::Config& c) {
  admission::CalibratorConfig k;
  k.target_overload_rate = c.admission.target_overload_rate;
  k.prior_exceedances = c.admission.tail_prior_exceedances;
  return k;
}

CoMovementConfig comovement_config_from(const config::Config& c) {
  CoMovementConfig m;
  const std::string& mode = c.admission.comovement;
  m.mode = mode == "host"     ? CoMovementMode::Host
           : mode == "sketch" ? CoMovementMode::Sketch
           : mode == "fixed"  ? CoMovementMode::Fixed
           : mode == "shape"  ? CoMovementMode::Shape
                              : CoMovementMode::Learned;
  m.prior = c.admission.comovement_prior;
  return m;
}

double capacity_cores_from(const config::Config& c, long online_cpus) {
  if (c.admission.capacity_cores > 0) return c.admission.capacity_cores;
  return std::max(0.1, static_cast<double>(online_cpus) - c.admission.reserve_cores);
}

MemoryConfig memory_config_from(const config::Config& c) {
  MemoryConfig m;
  m.guard.mode = admission::parse_committed_memory_mode(c.admission.committed_memory).value_or(admission::CommittedMemoryMode::Limits);
  m.guard.peak_margin = c.admission.memory_peak_margin;
  m.capacity_bytes = c.admission.memory_capacity_bytes;
  m.reserve_bytes = c.admission.memory_reserve_bytes;
  return m;
}

NodeConfig node_config_from(const config::Config& c, long online_cpus) {
  NodeConfig n;
  n.shape = shape_config_from(c);
  n.policy = policy_config_from(c);
  n.calibrator = calibrator_config_from(c);
  n.comovement = comovement_config_from(c);
  n.memory = memory_config_from(c);
  n.newcomers.quantile = c.admission.newcomer_quantile;
  n.relief_after_s = c.admission.relief_after_s;
  n.capacity_cores = capacity_cores_from(c, online_cpus);
  return n;
}

}  // namespace antiphase::node
