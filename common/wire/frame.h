#pragma once
// Fixed frame around every gossip payload:
//   offset 0  u32 magic   "APGS" (0x41504753, big endian)
//   offset 4  u8  version (kWireVersion)
//   offset 5  u8  type    (MessageType)
//   offset 6  u16 flags   (must be 0)
//   offset 8  u32 length  of the protobuf payload that follows (big endian)
// The header is checked before anything is allocated, so a hostile length or type
// costs nothing but a counter increment.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace antiphase::wire {

inline constexpr uint32_t kMagic = 0x41504753;  // "APGS"
// Version 2: SWIM probes, rumours, pulls and bucketed anti-entropy of signed records
// (version 1 was Scuttlebutt with a full digest in every SYN). The versions do not
// interoperate: a cluster is upgraded as a whole.
inline constexpr uint8_t kWireVersion = 2;
inline constexpr size_t kHeaderBytes = 12;

enum class MessageType : uint8_t {
  Ping = 1,     // SWIM probe
  Ack = 2,      // answer to a PING (direct, or forwarded by a PING_REQ helper)
  PingReq = 3,  // "probe this member for me"
  Nack = 4,     // a PING_REQ helper got no answer in time (Lifeguard)
  News = 5,     // rumours: versions of keys the sender holds, membership changes
  Pull = 6,     // keys the sender wants
  Push = 7,     // records
  AeSyn = 8,    // anti-entropy: bucket hashes
  AeAck = 9,    // anti-entropy: the entries of differing buckets
  Leave = 10,   // graceful leave: the sender's node record with left = true
};
inline constexpr uint8_t kMaxMessageType = 10;

struct FrameHeader {
  MessageType type;
  uint32_t payload_length;
};

enum class FrameError {
  TooShort,        // fewer bytes than a header
  BadMagic,
  BadVersion,
  BadType,
  BadFlags,
  LengthMismatch,  // header length != bytes that follow
  Oversize,        // larger than the caller's cap
  BadPayload,      // protobuf refused the payload
};
const char* to_string(FrameError error);

// Writes the 12-byte header for a payload of `payload_length` bytes.
std::string encode_header(MessageType type, uint32_t payload_length);

// Checks the header of a complete frame (header + payload) against `max_frame_bytes`.
// Returns the header or the first problem found; never reads past `frame.size()`.
struct HeaderCheck {
  std::optional<FrameHeader> header;
  FrameError error = FrameError::TooShort;
};
HeaderCheck check_header(std::string_view frame, size_t max_frame_bytes);

}  // namespace antiphase::wire
