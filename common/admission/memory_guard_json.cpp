#include "common/admission/memory_guard_json.h"

#include <cmath>

#include "common/admission/explanation_json.h"

namespace antiphase::admission {

using nlohmann::json;

namespace {

json optional_bytes(const std::optional<uint64_t>& v) { return v ? json(*v) : json(nullptr); }

}  // namespace

bool read_memory_bytes(const json& request, std::optional<uint64_t>& out, std::string& error) {
  out.reset();
  if (!request.is_object() || !request.contains("memory_bytes")) return true;
  const json& v = request["memory_bytes"];
  const std::string rule = "\"memory_bytes\" must be a whole number of bytes per instance, from 1 to " +
                           std::to_string(kMaxDeclaredMemoryBytes) + " (1 PiB); got " + v.dump();
  if (v.is_number_unsigned() || v.is_number_integer()) {
    if (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 1) {
      error = rule;
      return false;
    }
    const uint64_t bytes = v.get<uint64_t>();
    if (bytes < 1 || bytes > kMaxDeclaredMemoryBytes) {
      error = rule;
      return false;
    }
    out = bytes;
    return true;
  }
  if (v.is_number_float()) {  // 5.12e8 is a whole number too
    const double d = v.get<double>();
    if (std::isfinite(d) && d >= 1 && d <= static_cast<double>(kMaxDeclaredMemoryBytes) && d == std::floor(d)) {
      out = static_cast<uint64_t>(d);
      return true;
    }
  }
  error = rule;
  return false;
}

json to_json(const MemoryVerdict& v) {
  json committed = nullptr;
  if (v.committed)
    committed = {{"bytes", v.committed->bytes},
                 {"by_limit", v.committed->by_limit},
                 {"by_peak", v.committed->by_peak},
                 {"unmeasured", v.committed->unmeasured}};
  return {{"checked", v.checked},
          {"fits", v.fits},
          {"mode", to_string(v.mode)},
          {"peak_margin", v.peak_margin},
          {"source", to_string(v.need.source)},
          {"instances", v.need.instances},
          {"per_instance_bytes", optional_bytes(v.need.per_instance_bytes)},
          {"need_bytes", v.need_bytes},
          {"free_bytes", v.free_bytes},
          {"headroom_bytes", v.headroom_bytes},
          {"capacity_bytes", optional_bytes(v.capacity_bytes)},
          {"reserve_bytes", optional_bytes(v.reserve_bytes)},
          {"usable_bytes", optional_bytes(v.usable_bytes)},
          {"committed", committed},
          {"available_binds", v.available_binds},
          {"reason", v.reason}};
}

json to_json(const Decision& decision, const MemoryVerdict& memory) {
  json j = to_json(decision);
  j["memory"] = to_json(memory);
  j["bound_by"] = binding_resource(decision, memory);
  return j;
}

}  // namespace antiphase::admission
