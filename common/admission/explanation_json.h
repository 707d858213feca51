#pragma once
// JSON form of a decision for the local API and the replay tool's --json output.
#include <nlohmann/json.hpp>

#include "common/admission/decision.h"

namespace antiphase::admission {

nlohmann::json to_json(const Decision& d);

}  // namespace antiphase::admission
