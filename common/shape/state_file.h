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

std::string serialize_state(const std::map<std::string, ShapeModel>& functions,
                            const ShapeModel& host);

// On failure returns false with *error explaining why; *functions and *host are left
// untouched (all-or-nothing). Every model restored follows *host's configured
// highest_window_s (configuration, not learned state); the rest of each model's
// configuration comes from the file.
bool deserialize_state(std::string_view bytes, std::map<std::string, ShapeModel>* functions,
                       ShapeModel* host, std::string* error);

}  // namespace antiphase::shape
