#pragma once
// What a series did *besides* its usual shape, hour by hour: the mean residual
// (usage − the model's slot mean) of each of the last kSketchHours UTC hours.
//
// Admission adds per-slot means exactly, but the within-slot variance of host +
// candidate has a cross term 2ρσ_Hσ_c, and that ρ is about deviations moving
// together, not about mean shapes. Two series' sketches line up on UTC hours, so any
// host can correlate its own aggregate's recent deviations with those of a candidate
// measured elsewhere, from a few dozen bytes in the candidate's gossip summary.
// Pure: the caller passes time; no clock.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace antiphase::shape {

inline constexpr uint32_t kSketchHours = 48;
inline constexpr uint32_t kShiftHours = 3;

struct SketchCorrelation {
  double rho = 0.0;
  uint32_t hours = 0;  // complete hours both sketches hold (0: nothing to correlate)
};

class ResidualSketch {
 public:
  // One residual of `weight_s` seconds ending at unix_s.
  void add(int64_t unix_s, double residual, double weight_s);

  // Hour index (unix_s / 3600) of the newest hour with data; -1 when empty.
  int64_t newest_hour() const { return newest_hour_; }
  // Mean residual of UTC hour `hour` (NaN when not held or empty).
  double hour_mean(int64_t hour) const;
  // Complete hours only: the newest hour is still filling, so it is left out.
  std::vector<double> complete_hours(int64_t* first_hour) const;

  // How far above its usual shape the series has run lately: the mean residual of the
  // last `hours` complete hours, when it is positive and every one of them has data;
  // else 0. A level shift (a VM that starts a batch job) shows here within hours, long
  // before exponentially faded slot means catch up with it.
  double recent_shift(uint32_t hours = kShiftHours) const;

  // Pearson correlation over the complete hours both hold.
  static SketchCorrelation correlate(const ResidualSketch& a, const ResidualSketch& b);

  // For the state file and summaries: per-hour (sum of residual × weight, weight).
  struct Raw {
    int64_t newest_hour = -1;
    std::vector<float> sum, weight;  // kSketchHours each, index = hour % kSketchHours
  };
  Raw raw() const;
  bool restore(const Raw& raw);
  // A sketch holding exactly these hourly means (summaries carry only means).
  static ResidualSketch from_hour_means(int64_t first_hour, const std::vector<double>& means);

 private:
  void advance_to(int64_t hour);

  int64_t newest_hour_ = -1;
  std::array<float, kSketchHours> sum_{};  // float: 384 B per model instead of 768
  std::array<float, kSketchHours> weight_{};
};

// A sketch as it travels (summaries, host adverts): one signed 4-bit code per complete
// hour, residual = code × step; kSketchMissing marks an hour without data.
inline constexpr int8_t kSketchMissing = -8;
inline constexpr int kSketchLevels = 7;
struct SketchCodes {
  int64_t first_hour = 0;
  float step = 0;
  std::vector<int8_t> codes;  // < kSketchHours; empty = no sketch
  bool empty() const { return codes.empty(); }
};
SketchCodes quantise(const ResidualSketch& sketch);
ResidualSketch dequantise(const SketchCodes& codes);
std::string pack_sketch(const SketchCodes& codes);  // two codes per byte, LSB-first
// Nullopt when the packed bytes, first hour or step are out of range (untrusted input).
std::optional<SketchCodes> unpack_sketch(int64_t first_hour, float step, std::string_view packed);

}  // namespace antiphase::shape
