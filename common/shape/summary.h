#pragma once
// Compact (<= 256 bytes) description of one function's shape for gossip: identity,
// scale, confidence, the quantised per-slot day profile (mean and spread) and memory.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/shape/embedding.h"
#include "common/shape/shape_model.h"
#include "common/shape/slot_profile.h"

namespace antiphase::shape {

inline constexpr size_t kMaxSummaryBytes = 256;
inline constexpr size_t kMaxFunctionNameBytes = 64;
inline constexpr uint32_t kSummaryFormat = 1;
inline constexpr uint32_t kSummarySlots = 96;       // day fold, 15-minute slots
// Per-slot quantisation. 5/5 was chosen by measurement: it halves the error of
// mean + 3 spread (what admission adds up) versus 6/4 bits (docs/shape-model.md).
inline constexpr uint32_t kSummaryMeanBits = 5;
inline constexpr uint32_t kSummarySpreadBits = 5;
// encode() saturates `samples` here (1,000+ years of 1 s ticks): a varint of at most
// 5 bytes, which pays for the memory field within kMaxSummaryBytes.
inline constexpr uint64_t kMaxSummarySamples = (uint64_t{1} << 35) - 1;
// Memory peaks above this (1 EiB) are refused as corrupt.
inline constexpr uint64_t kMaxSummaryMemoryBytes = uint64_t{1} << 60;

struct Summary {
  std::string function;
  uint32_t instances = 0;
  uint64_t samples = 0;
  float confidence = 0;
  uint32_t history_s = 0;  // 0: unknown (an older agent, or it did not fit); travels in hours
  float mean = 0, peak = 0;  // cores
  uint64_t version = 0;
  // Per-slot day profile: mean[w] = mean_offset + mean_q[w] * mean_step,
  // spread[w] = spread_q[w] * spread_step. Codes are < 2^bits.
  float mean_offset = 0, mean_step = 0, spread_step = 0;
  // L2 norm over slots of (dequantised - true) per-slot means, rounded up; feeds the
  // correlation bound of embedding_of().
  float mean_error_l2 = 0;
  std::vector<uint8_t> mean_q, spread_q;  // kSummarySlots each (or empty: no profile)
  // Hourly residual sketch (see residual_sketch.h). Empty when the model has none yet,
  // or when it did not fit in kMaxSummaryBytes.
  SketchCodes sketch;
  // The memory one instance needs (its largest instance's peak on the publishing host,
  // FunctionMemory::instance_peak_bytes; the caller sets it). nullopt: not known, e.g.
  // from a peer that predates it. It travels as a float rounded up: the decoded peak is
  // never below the encoded one.
  std::optional<uint64_t> memory_peak_bytes;
  // ShapeModel::highest() (cores, all instances), rounded up; nullopt: not known (`peak`
  // stands in). See highest_of().
  std::optional<float> highest;
  // The unix hour, rounded up, in which `highest` was seen (so a receiver remembers it
  // no shorter, and a time passed on from host to host does not move); 0 when nothing
  // but the profile's peak stands behind it (a model seeded without); nullopt: kept for
  // good by the publisher, or not known (a receiver with a window then dates it now,
  // the careful reading).
  std::optional<int64_t> highest_seen_hour;
};

// Whether a summary is about the function gossiped as `name`: its own name field holds
// at most kMaxFunctionNameBytes, so a longer name matches by that prefix (the gossip key,
// the full name, is what tells two such functions apart).
inline bool summarises(const Summary& s, const std::string& name) {
  return s.function == std::string_view(name).substr(0, kMaxFunctionNameBytes);
}

// The most cores the function was ever seen to use: `highest` where known, else `peak`.
inline double highest_of(const Summary& s) { return s.highest ? std::max<double>(*s.highest, s.peak) : s.peak; }
// The same for one instance (the summary sums its instances).
inline double highest_per_instance(const Summary& s) { return highest_of(s) / std::max<uint32_t>(1, s.instances); }
// When `highest` was seen, for a receiver whose newest sample is at now_s: now_s when
// not known, and never later (a clock ahead must not make it last longer).
inline int64_t highest_seen_s(const Summary& s, int64_t now_s) {
  if (!s.highest_seen_hour || *s.highest_seen_hour > now_s / 3600) return now_s;
  return *s.highest_seen_hour * 3600;
}

// Quantises the model's day profile, resampled to kSummarySlots slots if its day fold
// uses another slot count (the summary's error bound then refers to the resampled
// profile). A day fold whose period is not 86400 s gives a summary without profile.
// Names longer than kMaxFunctionNameBytes are truncated here; encode() refuses them.
Summary summarize(const std::string& name, const ShapeModel& model, uint32_t instances,
                  uint64_t version);

// Empty string (and *error set, if given) when the summary cannot be encoded within
// kMaxSummaryBytes (name too long, malformed codes).
std::string encode(const Summary& summary, std::string* error = nullptr);
std::optional<Summary> decode(std::string_view bytes, std::string* error = nullptr);

// Approximate day profile: mean/spread per slot (within half a quantisation step),
// peak per slot estimated as min(summary peak, mean + 3 spread).
SlotProfile reconstruct_day(const Summary& summary);
// Day-fold embedding of the reconstructed profile; mean_error_l2 carries the
// quantisation error so correlate() bounds stay valid against the true profiles.
Embedding embedding_of(const Summary& summary, uint32_t k = ShapeConfig{}.k);

// True when republishing is worth it: the largest per-slot change of mean or spread,
// or the change of mean/peak, relative to the larger peak, exceeds `threshold`; or the
// instance count or the confidence (by more than threshold) changed; or the memory peak
// appeared, vanished or moved by more than threshold relative to the larger value.
bool significantly_changed(const Summary& old_s, const Summary& new_s, double threshold);

}  // namespace antiphase::shape
