// libFuzzer target: deserialize_state() of arbitrary bytes must never crash. The CRC
// would stop almost every input at the header, so the fuzzer's bytes are used as the
// payload of a correctly framed file to reach the protobuf and validation code.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/shape/shape.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace antiphase::shape;
  const std::string payload(reinterpret_cast<const char*>(data), size);
  std::string file("APSHAPE\0", 8);
  auto put = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) file.push_back(static_cast<char>(v >> (8 * i)));
  };
  put(kStateFormat);
  put(static_cast<uint32_t>(payload.size()));
  put(static_cast<uint32_t>(crc32(0, data, static_cast<uInt>(size))));
  file += payload;
  std::map<std::string, ShapeModel> functions;
  ShapeModel host;
  std::string error;
  if (deserialize_state(file, &functions, &host, &error)) {
    for (auto& [name, model] : functions) {
      model.add_sample(1700000000, 1.0);
      (void)correlate(model.embedding(), host.embedding());
    }
  }
  (void)deserialize_state(payload, &functions, &host, &error);  // raw bytes too
  return 0;
}
