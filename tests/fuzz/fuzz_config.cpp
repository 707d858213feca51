// libFuzzer target: the config loader. parse() promises a ConfigError (naming the key
// and line) for every bad document; any other exception, or a crash, is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)antiphase::config::parse_duration_s(text);
  try {
    (void)antiphase::config::parse(text, "fuzz.toml");
  } catch (const antiphase::config::ConfigError& e) {
    if (std::string_view(e.what()).empty()) std::abort();  // an error must say what is wrong
  }
  // Anything else escaping parse() reaches libFuzzer as an uncaught exception: a finding.
  return 0;
}
