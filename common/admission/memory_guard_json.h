#pragma once
// JSON for the memory guard: the request field (memory_bytes) and the verdict, next to
// explanation_json.h so the guard itself does not need nlohmann_json.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/admission/decision.h"
#include "common/admission/memory_guard.h"

namespace antiphase::admission {

// Reads the optional "memory_bytes" (per instance) of an admission request. False, with
// an error naming the field, for anything but a whole number 1..kMaxDeclaredMemoryBytes
// (negative, fractional, a string, null, absurdly large): the API answers 400 with it.
bool read_memory_bytes(const nlohmann::json& request, std::optional<uint64_t>& out, std::string& error);

nlohmann::json to_json(const MemoryVerdict& verdict);
// The CPU decision's JSON (explanation_json.h) with "memory" (the verdict) and
// "bound_by" ("memory" | "cpu"). Call after merge_memory().
nlohmann::json to_json(const Decision& decision, const MemoryVerdict& memory);

}  // namespace antiphase::admission
