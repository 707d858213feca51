#pragma once
// Reads CPU traces in the long CSV format `timestamp,function,cpu` (unix seconds UTC,
// series id, cores in use), plain or gzip-compressed, from a file or stdin ("-").
// Bad rows are reported with their line number; nothing crashes on bad input.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace antiphase::replay {

struct TraceRow {
  int64_t timestamp = 0;
  uint32_t function = 0;  // index into Trace::functions
  float cpu = 0.0f;
};

struct Trace {
  std::vector<std::string> functions;  // series ids in order of first appearance
  std::vector<TraceRow> rows;          // in file order
  uint64_t lines = 0;                  // lines read, header included
};

class TraceError : public std::runtime_error {
 public:
  TraceError(std::string source, uint64_t line, const std::string& what)
      : std::runtime_error(source + ":" + std::to_string(line) + ": " + what), line_(line) {}
  uint64_t line() const { return line_; }

 private:
  uint64_t line_;
};

// Keeps only rows with from ≤ timestamp < to (defaults: everything), which bounds
// memory when a long trace is replayed over a short window.
struct ReadOptions {
  int64_t from = INT64_MIN;
  int64_t to = INT64_MAX;
};

// path "-" reads stdin. gzip is detected from the content, not the name.
// Throws TraceError (with line number) on malformed rows, std::runtime_error if unreadable.
Trace read_trace(const std::string& path, const ReadOptions& options = {});

// Parses CSV text already in memory (used by tests and by read_trace per chunk).
Trace parse_trace_text(const std::string& text, const std::string& source_name = "<text>",
                       const ReadOptions& options = {});

}  // namespace antiphase::replay
