// libFuzzer target: the trace CSV parser of the replay tool. parse_trace_text() promises
// a TraceError with the line number for malformed rows; any other exception, a crash,
// or a result that breaks its own invariants is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "agent/trace/trace_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace antiphase::replay;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const Trace trace = parse_trace_text(text, "fuzz.csv");
    for (const auto& row : trace.rows)
      if (row.function >= trace.functions.size()) std::abort();  // dangling series index
    // A window must only drop rows, never invent them.
    const Trace window = parse_trace_text(text, "fuzz.csv", ReadOptions{0, 1'000'000'000});
    if (window.rows.size() > trace.rows.size()) std::abort();
  } catch (const TraceError& e) {
    if (std::string(e.what()).empty()) std::abort();  // an error must say what is wrong
  }
  return 0;
}
