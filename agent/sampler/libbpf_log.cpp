#include "agent/sampler/libbpf_log.h"

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <vector>

namespace antiphase::agent {

void append_captured(const char* msg);  // befriended by LibbpfMessageCapture

namespace {

thread_local LibbpfMessageCapture* t_capture = nullptr;
constexpr size_t kMaxCapturedBytes = 64 * 1024;

int forward_to_spdlog(enum libbpf_print_level level, const char* format, va_list args) {
  char buf[1024];
  std::vsnprintf(buf, sizeof(buf), format, args);
  std::string_view msg(buf);
  while (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
  spdlog::debug("libbpf: {}", msg);
  if (level <= LIBBPF_WARN) append_captured(buf);
  return 0;
}

}  // namespace

void append_captured(const char* msg) {
  if (!t_capture) return;
  auto& text = t_capture->text_;
  if (text.size() > kMaxCapturedBytes) text.erase(0, text.size() - kMaxCapturedBytes / 2);
  text += msg;
  if (!text.empty() && text.back() != '\n') text.push_back('\n');
}

void install_libbpf_logging() {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(forward_to_spdlog); });
}

LibbpfMessageCapture::LibbpfMessageCapture() : previous_(t_capture) {
  install_libbpf_logging();
  t_capture = this;
}

LibbpfMessageCapture::~LibbpfMessageCapture() { t_capture = previous_; }

std::string LibbpfMessageCapture::summary(size_t max_lines) const {
  std::vector<std::string> lines;
  std::istringstream in(text_);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("libbpf: ", 0) == 0) line.erase(0, 8);  // the caller says "libbpf:" once
    if (!line.empty()) lines.push_back(line);
  }
  const size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  std::string out;
  for (size_t i = first; i < lines.size(); ++i) {
    if (!out.empty()) out += " | ";  // one line, so it fits a log line or a JSON string
    out += lines[i];
  }
  return out;
}

}  // namespace antiphase::agent
