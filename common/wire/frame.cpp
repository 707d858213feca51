#include "common/wire/frame.h"

namespace antiphase::wire {
namespace {

uint32_t read_be32(std::string_view bytes, size_t offset) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<uint8_t>(bytes[offset + i]);
  return value;
}

void append_be32(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

bool is_known_type(uint8_t type) {
  return type >= 1 && type <= kMaxMessageType;
}

}  // namespace

const char* to_string(FrameError error) {
  switch (error) {
    case FrameError::TooShort: return "frame shorter than header";
    case FrameError::BadMagic: return "bad magic";
    case FrameError::BadVersion: return "unsupported wire version";
    case FrameError::BadType: return "unknown message type";
    case FrameError::BadFlags: return "non-zero flags";
    case FrameError::LengthMismatch: return "length field does not match frame size";
    case FrameError::Oversize: return "frame larger than the configured cap";
    case FrameError::BadPayload: return "payload is not a valid gossip message";
  }
  return "unknown frame error";
}

std::string encode_header(MessageType type, uint32_t payload_length) {
  std::string header;
  header.reserve(kHeaderBytes);
  append_be32(header, kMagic);
  header.push_back(static_cast<char>(kWireVersion));
  header.push_back(static_cast<char>(type));
  header.push_back(0);
  header.push_back(0);
  append_be32(header, payload_length);
  return header;
}

HeaderCheck check_header(std::string_view frame, size_t max_frame_bytes) {
  auto fail = [](FrameError e) { return HeaderCheck{std::nullopt, e}; };
  if (frame.size() > max_frame_bytes) return fail(FrameError::Oversize);
  if (frame.size() < kHeaderBytes) return fail(FrameError::TooShort);
  if (read_be32(frame, 0) != kMagic) return fail(FrameError::BadMagic);
  if (static_cast<uint8_t>(frame[4]) != kWireVersion) return fail(FrameError::BadVersion);
  const auto type = static_cast<uint8_t>(frame[5]);
  if (!is_known_type(type)) return fail(FrameError::BadType);
  if (frame[6] != 0 || frame[7] != 0) return fail(FrameError::BadFlags);
  const uint32_t length = read_be32(frame, 8);
  if (length > max_frame_bytes - kHeaderBytes) return fail(FrameError::Oversize);
  if (length != frame.size() - kHeaderBytes) return fail(FrameError::LengthMismatch);
  return HeaderCheck{FrameHeader{static_cast<MessageType>(type), length}, FrameError::TooShort};
}

}  // namespace antiphase::wire
