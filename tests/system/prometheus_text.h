#pragma once
// A strict parser of the Prometheus text exposition format (0.0.4), enough to prove
// that what /metrics serves would be scraped: every sample belongs to a family with
// HELP and TYPE given first, names and labels are well formed, values are numbers,
// counters end in _total, no family is declared twice.
#include <set>
#include <string>

namespace antiphase::testing {

// Returns the family names; on the first problem sets *error ("line N: ...").
std::set<std::string> parse_prometheus_text(const std::string& text, std::string* error);

}  // namespace antiphase::testing
