#include "common/admission/slot_window.h"

#include <cstdio>

namespace antiphase::admission {
namespace {

std::string clock_hhmm(uint32_t seconds_into_day) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02u:%02u", (seconds_into_day / 3600) % 24, (seconds_into_day / 60) % 60);
  return buf;
}

std::string offset_mmss(uint32_t seconds) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "+%02u:%02u", seconds / 60, seconds % 60);
  return buf;
}

}  // namespace

std::string slot_window(uint32_t period_s, size_t slots, size_t slot) {
  if (slots == 0 || period_s == 0 || slot >= slots) return "unknown slot";
  const uint32_t width = period_s / static_cast<uint32_t>(slots);
  const uint32_t begin = static_cast<uint32_t>(slot) * width;
  const uint32_t end = begin + width;
  if (period_s == 86400) {
    // 24:00 rather than 00:00 for the last slot reads better.
    const std::string end_text = end == 86400 ? std::string("24:00") : clock_hhmm(end);
    return clock_hhmm(begin) + "-" + end_text + " UTC";
  }
  return offset_mmss(begin) + "-" + offset_mmss(end) + " of each " + std::to_string(period_s) + " s period";
}

}  // namespace antiphase::admission
