#pragma once
// A small blob that travels between hosts: 1 format byte, the payload, then CRC32
// (zlib, little-endian) of everything before it. Protobuf alone cannot tell a
// message truncated at a field boundary from a shorter one; the CRC can.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <zlib.h>

namespace antiphase::util {

inline constexpr size_t kFrameOverheadBytes = 5;

inline uint32_t crc32_of(std::string_view bytes) {
  return static_cast<uint32_t>(
      crc32_z(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<z_size_t>(bytes.size())));
}

inline std::string frame(uint8_t format, std::string_view payload) {
  std::string out(1, static_cast<char>(format));
  out.append(payload);
  const uint32_t crc = crc32_of(out);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(crc >> (8 * i) & 0xff));
  return out;
}

// The payload of a well-formed frame of `format` no longer than max_bytes; otherwise
// false and *error says why (for logs and counters; the input is untrusted).
inline bool unframe(std::string_view bytes, uint8_t format, size_t max_bytes, std::string_view* payload,
                    std::string* error) {
  auto fail = [&](std::string why) {
    if (error) *error = std::move(why);
    return false;
  };
  if (bytes.size() < kFrameOverheadBytes || bytes.size() > max_bytes)
    return fail("length " + std::to_string(bytes.size()) + " outside " + std::to_string(kFrameOverheadBytes) +
                ".." + std::to_string(max_bytes));
  if (static_cast<uint8_t>(bytes[0]) != format)
    return fail("unsupported format " + std::to_string(static_cast<uint8_t>(bytes[0])) + " (expected " +
                std::to_string(format) + ")");
  const std::string_view covered = bytes.substr(0, bytes.size() - 4);
  uint32_t crc = 0;
  for (int i = 0; i < 4; ++i) crc |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[bytes.size() - 4 + i])) << (8 * i);
  if (crc32_of(covered) != crc) return fail("checksum mismatch (truncated or corrupt)");
  *payload = covered.substr(1);
  return true;
}

// The protobuf `Message` inside a well-formed frame; otherwise nullopt and *error says
// why, prefixed with `what` ("summary", "host advert").
template <class Message>
std::optional<Message> unframe_message(std::string_view bytes, uint8_t format, size_t max_bytes, const char* what,
                                       std::string* error) {
  std::string_view payload;
  std::string why;
  if (!unframe(bytes, format, max_bytes, &payload, &why)) {
    if (error) *error = std::string(what) + " " + why;
    return std::nullopt;
  }
  Message message;
  if (!message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    if (error) *error = std::string(what) + " is not a valid protobuf message";
    return std::nullopt;
  }
  return message;
}

}  // namespace antiphase::util
