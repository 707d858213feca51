#include "agent/ctl/charts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

namespace antiphase::ctl {

std::string sparkline(const std::vector<double>& values, double top) {
  static const char* blocks[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  if (top <= 0)
    for (double v : values) top = std::max(top, v);
  std::string out;
  for (double v : values) {
    int level = top > 0 ? static_cast<int>(std::lround(std::clamp(v / top, 0.0, 1.0) * 8)) : 0;
    if (v > 0 && level == 0) level = 1;  // visible, however small
    out += blocks[level];
  }
  return out;
}

std::string time_axis(size_t slots, unsigned period_s) {
  if (slots == 0) return "";
  const bool day = period_s >= 86400;
  const double slot_s = static_cast<double>(period_s) / static_cast<double>(slots);
  const double label_every_s = day ? 3 * 3600.0 : 15 * 60.0;
  std::string axis(slots, ' ');
  for (double t = 0; t < period_s; t += label_every_s) {
    const size_t pos = static_cast<size_t>(t / slot_s);
    char label[8];
    std::snprintf(label, sizeof label, day ? "%02d" : ":%02d", static_cast<int>(day ? t / 3600 : t / 60));
    for (size_t i = 0; label[i] && pos + i < slots; ++i) axis[pos + i] = label[i];
    if (pos < slots && label[0] != ':') axis[pos] = label[0];
  }
  return axis;
}

std::string memory_size(uint64_t bytes) {
  static const char* units[] = {"B", "K", "M", "G", "T", "P"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1000 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  char out[16];
  const char* format = unit == 0 || value >= 100 ? "%.0f%s" : value >= 10 ? "%.1f%s" : "%.2f%s";
  std::snprintf(out, sizeof out, format, value, units[unit]);
  return out;
}

}  // namespace antiphase::ctl
