#pragma once
// Message <-> wire frame. from_wire() is where peer input becomes records: every size is
// checked here (names, summaries, keys, signatures, array lengths) before the protocol
// sees anything; signatures are checked later, by the record store, against the
// author's key.
#include <optional>
#include <string>
#include <string_view>

#include "common/gossip/message.h"
#include "common/gossip/protocol_config.h"
#include "common/wire/codec.h"

namespace antiphase::gossip {

wire::Gossip to_wire(const Message& message);

// Nullopt (and `*error` set) if any field breaks the limits or the message is inconsistent.
std::optional<Message> from_wire(MessageType type, const wire::Gossip& message, const ProtocolConfig& limits,
                                 std::string* error = nullptr);

std::string encode(const Message& message);

// Exact size of encode(message) in bytes (header included), computed without building the
// protobuf: the simulator counts every message this way. A unit test holds it to encode().
size_t encoded_size(const Message& message);
// Bytes one record adds to a message (its field, tag and length included).
size_t record_wire_size(const Record& record);

}  // namespace antiphase::gossip
