#pragma once
// The text tables antiphasectl prints. Name columns grow to the longest name, so a
// 36-character pod UID or a long node id does not push its row out of line.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace antiphase::ctl {

// `v` with `digits` decimals.
std::string fixed(double v, int digits = 2);

// Width of a name column: the longest name, at least `minimum`.
size_t column_width(const std::vector<std::string>& names, size_t minimum);

// `antiphasectl functions` from the agent's /v1/functions reply.
std::string functions_table(const nlohmann::json& reply);

}  // namespace antiphase::ctl
