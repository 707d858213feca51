#include "common/wire/codec.h"

#include <limits>

namespace antiphase::wire {

std::string encode(MessageType type, const Gossip& message) {
  const size_t payload = message.ByteSizeLong();
  if (payload > std::numeric_limits<uint32_t>::max() - kHeaderBytes) return {};
  std::string frame = encode_header(type, static_cast<uint32_t>(payload));
  frame.resize(kHeaderBytes + payload);
  message.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(frame.data() + kHeaderBytes));
  return frame;
}

size_t encoded_size(const Gossip& message) { return kHeaderBytes + message.ByteSizeLong(); }

std::variant<Decoded, FrameError> decode(std::string_view frame, size_t max_frame_bytes) {
  const HeaderCheck check = check_header(frame, max_frame_bytes);
  if (!check.header) return check.error;
  Decoded decoded{check.header->type, {}};
  // The frame is already capped, so the parser cannot be driven past max_frame_bytes.
  if (!decoded.message.ParseFromArray(frame.data() + kHeaderBytes, static_cast<int>(check.header->payload_length)))
    return FrameError::BadPayload;
  return decoded;
}

}  // namespace antiphase::wire
