// libFuzzer target: decode() of arbitrary bytes must never crash, and whatever it
// accepts must re-encode and reconstruct without trouble. The fuzzer's bytes are tried
// raw and as the protobuf body of a correctly framed summary (format byte + CRC), so
// the checksum does not hide the parser and validation code from the fuzzer.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/shape/shape.h"

namespace {

void exercise(std::string_view bytes) {
  using namespace antiphase::shape;
  std::string error;
  const auto summary = decode(bytes, &error);
  if (!summary) {
    if (error.empty()) __builtin_trap();
    return;
  }
  const std::string again = encode(*summary, &error);
  if (again.empty() || again.size() > kMaxSummaryBytes) __builtin_trap();
  (void)reconstruct_day(*summary);
  // One embedding used twice: the DCT product was a third of this target's time.
  const auto embedding = embedding_of(*summary);
  (void)correlate(embedding, embedding);
  (void)significantly_changed(*summary, *summary, 0.1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  exercise(raw);
  std::string framed(1, static_cast<char>(antiphase::shape::kSummaryFormat));
  framed.append(raw);
  const auto crc = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(framed.data()), static_cast<uInt>(framed.size())));
  for (int i = 0; i < 4; ++i) framed.push_back(static_cast<char>(crc >> (8 * i)));
  exercise(framed);
  return 0;
}
