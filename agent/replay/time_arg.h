#pragma once
// Parses the replay's time arguments: "2011-04-11", "2011-04-11T06:00[:00]" (UTC)
// or plain unix seconds.
#include <cstdint>
#include <optional>
#include <string>

namespace antiphase::replay {

std::optional<int64_t> parse_time_arg(const std::string& text);
std::string format_utc(int64_t unix_s);  // "2011-04-11 06:00 UTC"

}  // namespace antiphase::replay
