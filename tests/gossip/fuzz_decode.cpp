// libFuzzer entry point for the wire decoder and the message decoder behind it (built
// with -DANTIPHASE_FUZZ=ON and clang):   ./fuzz_wire_decode -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/gossip/message_codec.h"
#include "common/wire/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto result = antiphase::wire::decode(std::string_view(reinterpret_cast<const char*>(data), size), 1 << 20);
  if (const auto* decoded = std::get_if<antiphase::wire::Decoded>(&result))
    antiphase::gossip::from_wire(decoded->type, decoded->message, antiphase::gossip::ProtocolConfig{});
  return 0;
}
