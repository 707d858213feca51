#pragma once
// Persisted shape state of an agent: every function's model plus the host
// aggregate. Layout: 8-byte magic "APSHAPE\0", u32 LE format version, u32 LE payload
// length, u32 LE CRC32 (zlib) of the payload, then a protobuf payload.
#include <map>
#include <string>
#include <string_view>

#include "common/shape/shape_model.h"

namespace antiphase::shape {

inline constexpr uint32_t kStateFormat = 1;
inline constexpr size_t kStateHeaderBytes = 20;

// `relief_followed`: the node core has seen relief acted upon (its models' highest-use
// window is open; node_core.h), kept so a restart does not close it again.
std::string serialize_state(const std::map<std::string, ShapeModel>& functions,
                            const ShapeModel& host, bool relief_followed = false);

// On failure returns false with *error explaining why; *functions, *host and
// *relief_followed are left untouched (all-or-nothing). Every model restored follows
// *host's configured highest-use window (configuration, not learned state), closed
// until the caller opens it; the rest of each model's configuration comes from the file.
bool deserialize_state(std::string_view bytes, std::map<std::string, ShapeModel>* functions,
                       ShapeModel* host, std::string* error, bool* relief_followed = nullptr);

}  // namespace antiphase::shape
