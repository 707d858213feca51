#include "agent/replay/time_arg.h"

#include <charconv>
#include <cstdio>

namespace antiphase::replay {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

std::optional<int64_t> parse_time_arg(const std::string& text) {
  int64_t unix_s = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), unix_s);
  if (ec == std::errc() && end == text.data() + text.size()) return unix_s;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, used = 0;
  const int fields = std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &used);
  if (fields < 3 || mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  const std::string rest = text.substr(static_cast<size_t>(used));
  if (!rest.empty()) {
    int used2 = 0;
    if (std::sscanf(rest.c_str(), "T%2d:%2d%n", &h, &mi, &used2) < 2 && std::sscanf(rest.c_str(), " %2d:%2d%n", &h, &mi, &used2) < 2)
      return std::nullopt;
    std::string secs = rest.substr(static_cast<size_t>(used2));
    if (!secs.empty() && (std::sscanf(secs.c_str(), ":%2d", &s) != 1)) return std::nullopt;
    if (h > 23 || mi > 59 || s > 60) return std::nullopt;
  }
  return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 + mi * 60 + s;
}

std::string format_utc(int64_t unix_s) {
  int64_t days = unix_s / 86400;
  int64_t rem = unix_s % 86400;
  if (rem < 0) rem += 86400, --days;
  // civil_from_days
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02lld:%02lld UTC", static_cast<long long>(y), m, d,
                static_cast<long long>(rem / 3600), static_cast<long long>((rem / 60) % 60));
  return buf;
}

}  // namespace antiphase::replay
