#pragma once
// Encodes and decodes complete gossip frames (header + protobuf payload).
// decode() is the fuzzing entry point: any byte string in, a message or an error out.
#include <string>
#include <string_view>
#include <variant>

#include "common/wire/frame.h"
#include "common/wire/gossip.pb.h"

namespace antiphase::wire {

struct Decoded {
  MessageType type;
  Gossip message;
};

// Serialises `message` into a frame. The caller enforces size caps on what it builds;
// this only refuses payloads that cannot be described by the 32-bit length field.
std::string encode(MessageType type, const Gossip& message);

// Bytes a frame for `message` would take, without serialising it (for budgets/stats).
size_t encoded_size(const Gossip& message);

// Checks the header, then parses the payload. Never throws, never crashes.
std::variant<Decoded, FrameError> decode(std::string_view frame, size_t max_frame_bytes);

}  // namespace antiphase::wire
