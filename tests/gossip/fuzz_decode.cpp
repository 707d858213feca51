// libFuzzer entry point for the wire decoder (built with -DANTIPHASE_FUZZ=ON and clang):
//   ./fuzz_wire_decode -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/wire/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  antiphase::wire::decode(std::string_view(reinterpret_cast<const char*>(data), size), 1 << 20);
  return 0;
}
