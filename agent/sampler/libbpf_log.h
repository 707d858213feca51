#pragma once
// Routes libbpf's messages to spdlog::debug instead of stderr, and lets a caller collect
// the warnings of one load attempt so a failure can be explained to the user.
#include <string>

namespace antiphase::agent {

// Idempotent; safe to call from any thread.
void install_libbpf_logging();

// While alive, libbpf warnings/errors printed on this thread are also kept here.
class LibbpfMessageCapture {
 public:
  LibbpfMessageCapture();
  ~LibbpfMessageCapture();
  LibbpfMessageCapture(const LibbpfMessageCapture&) = delete;
  LibbpfMessageCapture& operator=(const LibbpfMessageCapture&) = delete;
  // The last few captured lines (verifier logs can be huge) on one line, " | " separated.
  std::string summary(size_t max_lines = 6) const;

 private:
  std::string text_;
  LibbpfMessageCapture* previous_;
  friend void append_captured(const char* msg);
};

}  // namespace antiphase::agent
