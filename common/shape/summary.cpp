#include "common/shape/summary.h"

#include <algorithm>
#include <cmath>
#include <limits>


#include "common/shape/resample.h"
#include "common/shape/shape_summary.pb.h"
#include "common/util/checked_frame.h"

namespace antiphase::shape {
namespace {

constexpr uint32_t kMeanLevels = (1u << kSummaryMeanBits) - 1;
constexpr uint32_t kSpreadLevels = (1u << kSummarySpreadBits) - 1;
constexpr size_t kProfileBytes = (kSummarySlots * (kSummaryMeanBits + kSummarySpreadBits) + 7) / 8;
// Per-slot reconstruction of the peak when only mean and spread travel.
constexpr double kPeakSpreads = 3.0;

void set_error(std::string* error, std::string message) {
  if (error) *error = std::move(message);
}

// Little bit-stream writer/reader for fixed-width codes, LSB-first.
std::string pack_codes(const std::vector<uint8_t>& mean_q, const std::vector<uint8_t>& spread_q) {
  std::string out(kProfileBytes, '\0');
  size_t bit = 0;
  auto put = [&](uint32_t value, uint32_t width) {
    for (uint32_t i = 0; i < width; ++i, ++bit)
      if (value >> i & 1u) out[bit / 8] = static_cast<char>(out[bit / 8] | (1u << (bit % 8)));
  };
  for (uint8_t code : mean_q) put(code, kSummaryMeanBits);
  for (uint8_t code : spread_q) put(code, kSummarySpreadBits);
  return out;
}

void unpack_codes(std::string_view bytes, std::vector<uint8_t>* mean_q, std::vector<uint8_t>* spread_q) {
  size_t bit = 0;
  auto get = [&](uint32_t width) {
    uint32_t value = 0;
    for (uint32_t i = 0; i < width; ++i, ++bit)
      value |= ((static_cast<uint8_t>(bytes[bit / 8]) >> (bit % 8)) & 1u) << i;
    return static_cast<uint8_t>(value);
  };
  mean_q->resize(kSummarySlots);
  spread_q->resize(kSummarySlots);
  for (auto& code : *mean_q) code = get(kSummaryMeanBits);
  for (auto& code : *spread_q) code = get(kSummarySpreadBits);
}

uint8_t quantise(double value, double offset, double step, uint32_t levels) {
  if (!(step > 0)) return 0;
  return static_cast<uint8_t>(std::clamp(std::lround((value - offset) / step), 0L, static_cast<long>(levels)));
}

bool is_day_profile(const SlotProfile& profile) {
  return profile.period_s == 86400 && profile.slots() == kSummarySlots &&
         profile.spread.size() == kSummarySlots;
}

// Summaries always carry 96 day slots, whatever the model's day fold uses.
std::optional<SlotProfile> summary_day_profile(const ShapeModel& model) {
  const SlotProfile day = model.day_profile();
  if (day.period_s != 86400) return std::nullopt;
  if (is_day_profile(day)) return day;
  SlotProfile resampled = resample(day, kSummarySlots);
  if (!is_day_profile(resampled)) return std::nullopt;
  return resampled;
}

void quantise_profile(const SlotProfile& day, Summary* summary) {
  const auto [low, high] = std::minmax_element(day.mean.begin(), day.mean.end());
  const double top_spread = *std::max_element(day.spread.begin(), day.spread.end());
  summary->mean_offset = static_cast<float>(*low);
  summary->mean_step = static_cast<float>((*high - *low) / kMeanLevels);
  summary->spread_step = static_cast<float>(top_spread / kSpreadLevels);
  summary->mean_q.resize(kSummarySlots);
  summary->spread_q.resize(kSummarySlots);
  double error_energy = 0;
  for (uint32_t w = 0; w < kSummarySlots; ++w) {
    summary->mean_q[w] = quantise(day.mean[w], summary->mean_offset, summary->mean_step, kMeanLevels);
    summary->spread_q[w] = quantise(day.spread[w], 0.0, summary->spread_step, kSpreadLevels);
    const double restored = summary->mean_offset + summary->mean_q[w] * static_cast<double>(summary->mean_step);
    error_energy += (restored - day.mean[w]) * (restored - day.mean[w]);
  }
  // Rounded up (and padded for float) so the receiver's correlation bound stays valid.
  const float error = static_cast<float>(std::sqrt(error_energy) * (1 + 1e-6) + 1e-30);
  summary->mean_error_l2 = std::nextafter(error, std::numeric_limits<float>::infinity());
}

bool finite_non_negative(float value) { return std::isfinite(value) && value >= 0; }

// Bytes as a float no smaller than the count.
float bytes_rounded_up(uint64_t bytes) {
  const double exact = static_cast<double>(bytes);  // exact below 2^53
  float f = static_cast<float>(exact);
  if (static_cast<double>(f) < exact) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  return f;
}

// nullopt for NaN, negative or absurd values (a corrupt or hostile summary).
std::optional<uint64_t> float_to_bytes(float value) {
  if (!finite_non_negative(value) || static_cast<double>(value) > static_cast<double>(kMaxSummaryMemoryBytes))
    return std::nullopt;
  return static_cast<uint64_t>(value);
}

bool moved(const std::optional<uint64_t>& before, const std::optional<uint64_t>& after, double threshold) {
  if (before.has_value() != after.has_value()) return true;
  if (!before) return false;
  const double a = static_cast<double>(*before), b = static_cast<double>(*after);
  return std::abs(a - b) > threshold * std::max({a, b, 1.0});
}

std::optional<std::string> check(const Summary& s) {
  if (s.function.empty()) return "function name is empty";
  if (s.function.size() > kMaxFunctionNameBytes)
    return "function name is " + std::to_string(s.function.size()) + " bytes, the limit is " +
           std::to_string(kMaxFunctionNameBytes);
  if (!(s.confidence >= 0 && s.confidence <= 1)) return "confidence outside 0..1";
  if (!finite_non_negative(s.mean) || !finite_non_negative(s.peak) || !finite_non_negative(s.mean_step) ||
      !finite_non_negative(s.spread_step) || !finite_non_negative(s.mean_error_l2) ||
      !finite_non_negative(s.mean_offset))
    return "scale fields must be finite and non-negative";
  const bool has_profile = !s.mean_q.empty() || !s.spread_q.empty();
  if (has_profile && (s.mean_q.size() != kSummarySlots || s.spread_q.size() != kSummarySlots))
    return "profile must have " + std::to_string(kSummarySlots) + " slots";
  for (uint8_t code : s.mean_q)
    if (code > kMeanLevels) return "mean code out of range";
  for (uint8_t code : s.spread_q)
    if (code > kSpreadLevels) return "spread code out of range";
  if (s.memory_peak_bytes && *s.memory_peak_bytes > kMaxSummaryMemoryBytes) return "memory peak above 1 EiB";
  if (s.highest && (!finite_non_negative(*s.highest) || *s.highest > 1e6f)) return "highest use out of range";
  if (s.highest_seen_hour && *s.highest_seen_hour < 0) return "highest use seen before 1970";
  if (!s.sketch.empty()) {
    if (s.sketch.codes.size() >= kSketchHours) return "residual sketch longer than " + std::to_string(kSketchHours - 1) + " hours";
    if (!finite_non_negative(s.sketch.step) || s.sketch.first_hour < 0) return "residual sketch scale out of range";
    for (int8_t code : s.sketch.codes)
      if (code < kSketchMissing || code > kSketchLevels) return "residual sketch code out of range";
  }
  return std::nullopt;
}

}  // namespace

Summary summarize(const std::string& name, const ShapeModel& model, uint32_t instances, uint64_t version) {
  Summary summary;
  summary.function = name.substr(0, kMaxFunctionNameBytes);
  summary.instances = instances;
  summary.samples = model.samples();
  summary.confidence = static_cast<float>(model.confidence());
  summary.history_s = static_cast<uint32_t>(std::min(model.history_s(), 4e9));
  summary.mean = static_cast<float>(model.mean());
  summary.peak = static_cast<float>(model.peak());
  summary.highest = std::nextafter(static_cast<float>(model.highest()), INFINITY);
  if (const auto seen = model.highest_seen_s()) summary.highest_seen_hour = (std::max<int64_t>(0, *seen) + 3599) / 3600;
  summary.version = version;
  if (const auto day = summary_day_profile(model)) quantise_profile(*day, &summary);
  summary.sketch = quantise(model.sketch());
  return summary;
}

namespace {

// What is left out when a summary does not fit, most expendable first: the residual
// sketch (the receiver then uses the host's co-movement only), then the history (the
// receiver then counts confidence × a day) and the highest use (the decayed peak then
// stands in).
enum class Optional { All, NoSketch, Neither };

std::string encode_checked(const Summary& summary, Optional keep) {
  const bool with_sketch = keep == Optional::All;
  proto::ShapeSummary message;
  message.set_function(summary.function);
  message.set_instances(summary.instances);
  message.set_samples(std::min(summary.samples, kMaxSummarySamples));
  message.set_confidence(summary.confidence);
  if (keep != Optional::Neither && summary.history_s) message.set_history_hours((summary.history_s + 3599) / 3600);
  if (keep != Optional::Neither && summary.highest) {
    message.set_highest(*summary.highest);
    if (summary.highest_seen_hour) message.set_highest_seen_hour(*summary.highest_seen_hour);
  }
  message.set_mean(summary.mean);
  message.set_peak(summary.peak);
  message.set_version(summary.version);
  message.set_mean_offset(summary.mean_offset);
  message.set_mean_step(summary.mean_step);
  message.set_spread_step(summary.spread_step);
  message.set_mean_error_l2(summary.mean_error_l2);
  if (!summary.mean_q.empty()) message.set_profile(pack_codes(summary.mean_q, summary.spread_q));
  if (summary.memory_peak_bytes) message.set_memory_peak_bytes(bytes_rounded_up(*summary.memory_peak_bytes));
  if (with_sketch && !summary.sketch.empty()) {
    message.set_sketch_first_hour(summary.sketch.first_hour);
    message.set_sketch_step(summary.sketch.step);
    message.set_sketch(pack_sketch(summary.sketch));
  }
  return util::frame(kSummaryFormat, message.SerializeAsString());
}

}  // namespace

std::string encode(const Summary& summary, std::string* error) {
  if (auto problem = check(summary)) {
    set_error(error, "cannot encode summary: " + *problem);
    return {};
  }
  std::string bytes = encode_checked(summary, Optional::All);
  // A long name may leave no room for the optional parts (see Optional).
  if (bytes.size() > kMaxSummaryBytes) bytes = encode_checked(summary, Optional::NoSketch);
  if (bytes.size() > kMaxSummaryBytes) bytes = encode_checked(summary, Optional::Neither);
  if (bytes.size() > kMaxSummaryBytes) {  // cannot happen with the caps above; guard anyway
    set_error(error, "encoded summary is " + std::to_string(bytes.size()) + " bytes");
    return {};
  }
  return bytes;
}

std::optional<Summary> decode(std::string_view bytes, std::string* error) {
  const auto parsed = util::unframe_message<proto::ShapeSummary>(bytes, kSummaryFormat, kMaxSummaryBytes, "summary", error);
  if (!parsed) return std::nullopt;
  const proto::ShapeSummary& message = *parsed;
  if (!message.profile().empty() && message.profile().size() != kProfileBytes) {
    set_error(error, "summary profile is " + std::to_string(message.profile().size()) + " bytes, expected " +
                         std::to_string(kProfileBytes));
    return std::nullopt;
  }
  Summary s;
  s.function = message.function();
  s.instances = message.instances();
  s.samples = message.samples();
  s.confidence = message.confidence();
  s.history_s = message.history_hours() > 1200000 ? 0 : message.history_hours() * 3600;  // > 136 years: garbage
  s.mean = message.mean();
  s.peak = message.peak();
  s.version = message.version();
  s.mean_offset = message.mean_offset();
  s.mean_step = message.mean_step();
  s.spread_step = message.spread_step();
  s.mean_error_l2 = message.mean_error_l2();
  if (!message.profile().empty()) unpack_codes(message.profile(), &s.mean_q, &s.spread_q);
  if (message.has_highest()) s.highest = message.highest();
  if (message.has_highest() && message.has_highest_seen_hour() && message.highest_seen_hour() >= 0)
    s.highest_seen_hour = message.highest_seen_hour();  // negative: garbage, read as seen now
  if (message.has_memory_peak_bytes()) {
    s.memory_peak_bytes = float_to_bytes(message.memory_peak_bytes());
    if (!s.memory_peak_bytes) {
      set_error(error, "invalid summary: memory peak is negative, not a number or absurd");
      return std::nullopt;
    }
  }
  const auto sketch = unpack_sketch(message.sketch_first_hour(), message.sketch_step(), message.sketch());
  if (!sketch) {
    set_error(error, "summary residual sketch is malformed");
    return std::nullopt;
  }
  s.sketch = *sketch;
  if (auto problem = check(s)) {
    set_error(error, "invalid summary: " + *problem);
    return std::nullopt;
  }
  return s;
}

SlotProfile reconstruct_day(const Summary& summary) {
  SlotProfile out;
  out.period_s = 86400;
  out.mean.assign(kSummarySlots, summary.mean);
  out.spread.assign(kSummarySlots, 0.0);
  out.peak.assign(kSummarySlots, summary.peak);
  if (summary.mean_q.size() != kSummarySlots || summary.spread_q.size() != kSummarySlots) return out;
  for (uint32_t w = 0; w < kSummarySlots; ++w) {
    out.mean[w] = summary.mean_offset + summary.mean_q[w] * static_cast<double>(summary.mean_step);
    out.spread[w] = summary.spread_q[w] * static_cast<double>(summary.spread_step);
    out.peak[w] = std::min<double>(summary.peak, out.mean[w] + kPeakSpreads * out.spread[w]);
  }
  return out;
}

Embedding embedding_of(const Summary& summary, uint32_t k) {
  Embedding out;
  out.day = embed_profile(reconstruct_day(summary), k);
  const bool has_profile = summary.mean_q.size() == kSummarySlots;
  // Without a profile the flat stand-in says nothing about shape.
  out.day.mean_error_l2 = has_profile ? summary.mean_error_l2 : std::numeric_limits<double>::infinity();
  out.day.spread_error_l2 = has_profile ? 0.5 * summary.spread_step * std::sqrt(double{kSummarySlots})
                                        : std::numeric_limits<double>::infinity();
  return out;
}

bool significantly_changed(const Summary& old_s, const Summary& new_s, double threshold) {
  if (old_s.function != new_s.function || old_s.instances != new_s.instances) return true;
  if (std::abs(old_s.confidence - new_s.confidence) > threshold) return true;
  const double scale = std::max({static_cast<double>(old_s.peak), static_cast<double>(new_s.peak), 1e-9});
  if (std::abs(old_s.mean - new_s.mean) > threshold * scale) return true;
  if (std::abs(old_s.peak - new_s.peak) > threshold * scale) return true;
  if (std::abs(highest_of(old_s) - highest_of(new_s)) > threshold * scale) return true;
  if (moved(old_s.memory_peak_bytes, new_s.memory_peak_bytes, threshold)) return true;
  const SlotProfile before = reconstruct_day(old_s), after = reconstruct_day(new_s);
  for (uint32_t w = 0; w < kSummarySlots; ++w) {
    if (std::abs(before.mean[w] - after.mean[w]) > threshold * scale) return true;
    if (std::abs(before.spread[w] - after.spread[w]) > threshold * scale) return true;
  }
  return false;
}

}  // namespace antiphase::shape
