#pragma once
// A host's view of itself, as it is gossiped: capacity, limit, calibrated margin,
// co-movement estimate and aggregate profile. The daemon decides on the *decoded*
// advert of its own host, so a peer holding the same advert reaches the same decision
// (one rule, one input); 16-bit codes keep the quantisation far below a decision's noise.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "common/admission/decision.h"
#include "common/shape/residual_sketch.h"
#include "common/shape/slot_profile.h"

namespace antiphase::node {

inline constexpr uint8_t kAdvertFormat = 1;
inline constexpr size_t kMaxAdvertBytes = 2048;
// Hosts whose day fold has more slots advertise it resampled to this many.
inline constexpr uint32_t kMaxAdvertSlots = 288;

struct HostAdvert {
  shape::SlotProfile aggregate;  // unobserved slots already filled with the host's peak
  double capacity_cores = 0;
  double limit_cores = 0;
  double z = 0;
  admission::TailModel tail = admission::TailModel::gaussian();
  double comovement = 0;
  uint32_t comovement_tenants = 0;
  double admitted_mean_cores = 0;
  double confidence = 0;
  shape::ResidualSketch sketch;
  uint64_t memory_capacity_bytes = 0;
  uint64_t memory_committed_bytes = 0;
  double tenants_peak_cores = std::numeric_limits<double>::quiet_NaN();  // see admission::HostView
  double measured_overload_rate = 0;  // see admission::HostView
  std::vector<double> lump_excess;    // see admission::HostView; empty or one per aggregate slot
  bool relief_followed = false;       // see NodeCore::relief_followed()
};

// Quantises the profile (rounding up, so a peer never sees more headroom than the host
// has) and encodes; empty string with *error set when it cannot.
std::string encode(const HostAdvert& advert, std::string* error = nullptr);
// Untrusted input: every field is checked; nullopt with *error saying why.
std::optional<HostAdvert> decode_advert(std::string_view bytes, std::string* error = nullptr);

// True when a peer holding `old_a` would judge noticeably differently from `new_a`:
// capacity, limit or relief_followed changed, z moved by more than 0.1, the co-movement by more than
// 0.05; a slot's mean, spread or lumps, or the tenants' sum of peaks, by more than
// threshold × the larger peak; or the measured overload rate by more than threshold × itself.
bool significantly_changed(const HostAdvert& old_a, const HostAdvert& new_a, double threshold);

// The admission policy's view of the host this advert describes.
admission::HostView view_of(const HostAdvert& advert, double telemetry_age_s);

}  // namespace antiphase::node
