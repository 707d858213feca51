#include "common/node/host_advert.h"

#include <algorithm>
#include <cmath>

#include "common/node/host_advert.pb.h"
#include "common/shape/resample.h"
#include "common/util/checked_frame.h"

namespace antiphase::node {
namespace {

constexpr double kCodeLevels = 65535.0;
// Anything above this is a unit error upstream, or hostile.
constexpr double kMaxCores = 1e6;

void set_error(std::string* error, std::string message) {
  if (error) *error = std::move(message);
}

// Codes round *up*: a peer must never see more headroom than the host itself.
std::string pack_up(const std::vector<double>& values, float* step) {
  const double top = values.empty() ? 0.0 : *std::max_element(values.begin(), values.end());
  *step = static_cast<float>(top / kCodeLevels);
  // float rounding of the step must not push the top code past 65535.
  if (*step > 0 && top / *step > kCodeLevels) *step = std::nextafter(*step, INFINITY);
  std::string out(values.size() * 2, '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    const double code = *step > 0 ? std::min(kCodeLevels, std::ceil(values[i] / *step - 1e-9)) : 0.0;
    const auto c = static_cast<uint16_t>(std::max(0.0, code));
    out[2 * i] = static_cast<char>(c & 0xff);
    out[2 * i + 1] = static_cast<char>(c >> 8);
  }
  return out;
}

std::vector<double> unpack(std::string_view bytes, float step) {
  std::vector<double> out(bytes.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const uint16_t c = static_cast<uint8_t>(bytes[2 * i]) | static_cast<uint16_t>(static_cast<uint8_t>(bytes[2 * i + 1])) << 8;
    out[i] = c * static_cast<double>(step);
  }
  return out;
}

bool sane_cores(double v) { return std::isfinite(v) && v >= 0 && v <= kMaxCores; }

shape::SlotProfile advertised_profile(const shape::SlotProfile& p) {
  return p.slots() > kMaxAdvertSlots ? shape::resample(p, kMaxAdvertSlots) : p;
}

// Per-slot lump excess on `slots` slots: the largest of the slots each one covers.
std::vector<double> advertised_lumps(const std::vector<double>& lumps, size_t slots) {
  if (lumps.size() <= slots || lumps.empty()) return lumps;
  std::vector<double> out(slots, 0.0);
  for (size_t i = 0; i < lumps.size(); ++i) out[i * slots / lumps.size()] = std::max(out[i * slots / lumps.size()], lumps[i]);
  return out;
}

}  // namespace

std::string encode(const HostAdvert& a, std::string* error) {
  const shape::SlotProfile p = advertised_profile(a.aggregate);
  if (p.slots() == 0 || p.spread.size() != p.slots() || p.period_s == 0 || p.period_s % p.slots() != 0) {
    set_error(error, "host advert needs a whole day profile");
    return {};
  }
  for (size_t w = 0; w < p.slots(); ++w)
    if (!sane_cores(p.mean[w]) || !sane_cores(p.spread[w])) {
      set_error(error, "host advert profile has a negative or non-finite value");
      return {};
    }
  proto::HostAdvert m;
  m.set_period_s(p.period_s);
  m.set_slots(static_cast<uint32_t>(p.slots()));
  float mean_step = 0, spread_step = 0;
  m.set_mean(pack_up(p.mean, &mean_step));
  m.set_spread(pack_up(p.spread, &spread_step));
  m.set_mean_step(mean_step);
  m.set_spread_step(spread_step);
  // Scalars travel as float; round the ones that bound admission the careful way.
  m.set_peak_cores(std::nextafter(static_cast<float>(a.aggregate.peak.empty() ? 0.0 : *std::max_element(a.aggregate.peak.begin(), a.aggregate.peak.end())), INFINITY));
  m.set_capacity_cores(static_cast<float>(a.capacity_cores));
  m.set_limit_cores(static_cast<float>(a.limit_cores));
  m.set_z(std::nextafter(static_cast<float>(a.z), INFINITY));
  for (double u : a.tail.u) m.add_tail(std::nextafter(static_cast<float>(u), INFINITY));  // heavier, never lighter
  m.set_comovement(static_cast<float>(a.comovement));
  m.set_comovement_tenants(a.comovement_tenants);
  m.set_admitted_mean_cores(static_cast<float>(a.admitted_mean_cores));
  m.set_confidence(static_cast<float>(a.confidence));
  const shape::SketchCodes sketch = shape::quantise(a.sketch);
  if (!sketch.empty()) {
    m.set_sketch_first_hour(sketch.first_hour);
    m.set_sketch_step(sketch.step);
    m.set_sketch(shape::pack_sketch(sketch));
  }
  m.set_memory_capacity_bytes(a.memory_capacity_bytes);
  m.set_memory_committed_bytes(a.memory_committed_bytes);
  m.set_measured_overload_rate(std::nextafter(static_cast<float>(a.measured_overload_rate), INFINITY));
  m.set_relief_followed(a.relief_followed);
  if (std::isfinite(a.tenants_peak_cores))
    m.set_tenants_peak_cores(std::nextafter(static_cast<float>(a.tenants_peak_cores), INFINITY));
  const std::vector<double> lumps = advertised_lumps(a.lump_excess, p.slots());
  if (!lumps.empty()) {
    if (lumps.size() != p.slots() || !std::all_of(lumps.begin(), lumps.end(), sane_cores)) {
      set_error(error, "host advert lump excess is not one sane number per slot");
      return {};
    }
    float lump_step = 0;
    m.set_lump_excess(pack_up(lumps, &lump_step));
    m.set_lump_step(lump_step);
  }
  std::string bytes = util::frame(kAdvertFormat, m.SerializeAsString());
  if (bytes.size() > kMaxAdvertBytes) {
    set_error(error, "host advert is " + std::to_string(bytes.size()) + " bytes");
    return {};
  }
  return bytes;
}

std::optional<HostAdvert> decode_advert(std::string_view bytes, std::string* error) {
  const auto parsed = util::unframe_message<proto::HostAdvert>(bytes, kAdvertFormat, kMaxAdvertBytes, "host advert", error);
  if (!parsed) return std::nullopt;
  const proto::HostAdvert& m = *parsed;
  const uint32_t slots = m.slots();
  if (slots == 0 || slots > kMaxAdvertSlots || m.period_s() != 86400 || m.period_s() % slots != 0 ||
      m.mean().size() != 2 * size_t{slots} || m.spread().size() != 2 * size_t{slots}) {
    set_error(error, "host advert profile has an unusable shape (" + std::to_string(slots) + " slots)");
    return std::nullopt;
  }
  for (double v : {double{m.mean_step()}, double{m.spread_step()}, double{m.peak_cores()}, double{m.capacity_cores()},
                   double{m.limit_cores()}, double{m.z()}, double{m.admitted_mean_cores()}})
    if (!sane_cores(v)) {
      set_error(error, "host advert has a negative, non-finite or absurd number");
      return std::nullopt;
    }
  if (!(m.measured_overload_rate() >= 0 && m.measured_overload_rate() <= 1)) {
    set_error(error, "host advert has a measured overload rate outside 0..1");
    return std::nullopt;
  }
  if (!m.lump_excess().empty() && (m.lump_excess().size() != 2 * size_t{slots} || !sane_cores(m.lump_step()))) {
    set_error(error, "host advert lump excess has an unusable shape or step");
    return std::nullopt;
  }
  if (m.has_tenants_peak_cores() && !sane_cores(m.tenants_peak_cores())) {
    set_error(error, "host advert has a negative, non-finite or absurd tenants' peak");
    return std::nullopt;
  }
  if (!(m.comovement() >= -1 && m.comovement() <= 1) || !(m.confidence() >= 0 && m.confidence() <= 1) ||
      m.limit_cores() > m.capacity_cores() * 1.0001f) {
    set_error(error, "host advert has a co-movement, confidence or limit out of range");
    return std::nullopt;
  }
  admission::TailModel tail;
  if (m.tail_size() != static_cast<int>(admission::TailModel::kLevels)) {
    set_error(error, "host advert tail has " + std::to_string(m.tail_size()) + " points");
    return std::nullopt;
  }
  for (size_t k = 0; k < admission::TailModel::kLevels; ++k) tail.u[k] = m.tail(static_cast<int>(k));
  if (!tail.valid() || tail.u[0] < -50 || tail.u[admission::TailModel::kLevels - 1] > 1000) {
    set_error(error, "host advert tail is not a non-decreasing list of finite margins");
    return std::nullopt;
  }
  const auto sketch = shape::unpack_sketch(m.sketch_first_hour(), m.sketch_step(), m.sketch());
  if (!sketch) {
    set_error(error, "host advert residual sketch is malformed");
    return std::nullopt;
  }
  HostAdvert a;
  a.aggregate.period_s = m.period_s();
  a.aggregate.mean = unpack(m.mean(), m.mean_step());
  a.aggregate.spread = unpack(m.spread(), m.spread_step());
  a.aggregate.peak.assign(slots, m.peak_cores());
  a.capacity_cores = m.capacity_cores();
  a.limit_cores = m.limit_cores();
  a.z = m.z();
  a.tail = tail;
  a.comovement = m.comovement();
  a.comovement_tenants = m.comovement_tenants();
  a.admitted_mean_cores = m.admitted_mean_cores();
  a.confidence = m.confidence();
  a.sketch = shape::dequantise(*sketch);
  a.memory_capacity_bytes = m.memory_capacity_bytes();
  a.memory_committed_bytes = m.memory_committed_bytes();
  if (m.has_tenants_peak_cores()) a.tenants_peak_cores = m.tenants_peak_cores();
  a.measured_overload_rate = m.measured_overload_rate();
  a.relief_followed = m.relief_followed();
  a.lump_excess = unpack(m.lump_excess(), m.lump_step());
  return a;
}

bool significantly_changed(const HostAdvert& a, const HostAdvert& b, double threshold) {
  if (a.capacity_cores != b.capacity_cores || a.limit_cores != b.limit_cores) return true;
  if (a.relief_followed != b.relief_followed) return true;  // opens the fleet's highest-use windows
  if (std::abs(a.z - b.z) > 0.1 || std::abs(a.comovement - b.comovement) > 0.05) return true;
  if (a.aggregate.slots() != b.aggregate.slots()) return true;
  const double peak_a = a.aggregate.peak.empty() ? 0 : a.aggregate.peak[0];
  const double peak_b = b.aggregate.peak.empty() ? 0 : b.aggregate.peak[0];
  const double scale = std::max({peak_a, peak_b, 1e-9});
  const auto moved = [&](double x, double y) { return std::abs(x - y) > threshold * scale; };
  for (size_t w = 0; w < a.aggregate.slots(); ++w)
    if (moved(a.aggregate.mean[w], b.aggregate.mean[w]) || moved(a.aggregate.spread[w], b.aggregate.spread[w]))
      return true;
  // The peaks-fit and lumps rules judge by these: an idle 8-core batch VM that leaves
  // hardly moves the means, but a peer holding the old peaks refuses what fits.
  if (std::isfinite(a.tenants_peak_cores) != std::isfinite(b.tenants_peak_cores) ||
      (std::isfinite(a.tenants_peak_cores) && moved(a.tenants_peak_cores, b.tenants_peak_cores)))
    return true;
  if (a.lump_excess.size() != b.lump_excess.size()) return true;
  for (size_t w = 0; w < a.lump_excess.size(); ++w)
    if (moved(a.lump_excess[w], b.lump_excess[w])) return true;
  // The measured-overload brake judges by this rate: a relative change, as it fades.
  const double rate_a = a.measured_overload_rate, rate_b = b.measured_overload_rate;
  return std::abs(rate_a - rate_b) > threshold * std::max(rate_a, rate_b);
}

admission::HostView view_of(const HostAdvert& advert, double telemetry_age_s) {
  admission::HostView v;
  v.aggregate = advert.aggregate;
  v.capacity_cores = advert.capacity_cores;
  v.limit_cores = advert.limit_cores;
  v.telemetry_age_s = telemetry_age_s;
  v.admitted_mean_cores = advert.admitted_mean_cores;
  v.tail = advert.tail;
  v.tenants_peak_cores = advert.tenants_peak_cores;
  v.measured_overload_rate = advert.measured_overload_rate;
  v.lump_excess = advert.lump_excess;
  return v;
}

}  // namespace antiphase::node
