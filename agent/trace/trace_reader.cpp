#include "agent/trace/trace_reader.h"

#include <zlib.h>

#include <charconv>
#include <cmath>
#include <memory>
#include <string_view>
#include <unistd.h>
#include <unordered_map>

namespace antiphase::replay {
namespace {

// Incremental CSV parser: fed arbitrary chunks, keeps the partial last line.
class RowParser {
 public:
  RowParser(std::string source, const ReadOptions& options) : source_(std::move(source)), options_(options) {}

  void feed(std::string_view chunk) {
    size_t start = 0;
    while (true) {
      const size_t nl = chunk.find('\n', start);
      if (nl == std::string_view::npos) break;
      if (!carry_.empty()) {
        carry_.append(chunk.substr(start, nl - start));
        line(carry_);
        carry_.clear();
      } else {
        line(chunk.substr(start, nl - start));
      }
      start = nl + 1;
    }
    carry_.append(chunk.substr(start));
  }

  Trace finish() {
    if (!carry_.empty()) line(carry_);
    carry_.clear();
    trace_.lines = line_no_;
    return std::move(trace_);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw TraceError(source_, line_no_, what); }

  void line(std::string_view text) {
    ++line_no_;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.empty()) return;
    const size_t c1 = text.find(',');
    const size_t c2 = c1 == std::string_view::npos ? c1 : text.find(',', c1 + 1);
    if (c2 == std::string_view::npos || text.find(',', c2 + 1) != std::string_view::npos)
      fail("expected 3 comma-separated fields `timestamp,function,cpu`, got \"" + std::string(text.substr(0, 80)) +
           "\"");
    // A header: the first line, if neither its first nor its last field is a number
    // (`timestamp,function,cpu`, or an exporter's own names such as `ts,vm,cores`).
    if (line_no_ == 1 && !is_number(text.substr(0, c1)) && !is_number(text.substr(c2 + 1))) return;
    const int64_t ts = timestamp(text.substr(0, c1));
    const std::string_view fn = text.substr(c1 + 1, c2 - c1 - 1);
    if (fn.empty()) fail("empty function id");
    const double cpu = usage(text.substr(c2 + 1));
    if (ts < options_.from || ts >= options_.to) return;
    trace_.rows.push_back({ts, intern(fn), static_cast<float>(cpu)});
  }

  static bool is_number(std::string_view s) {
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && end == s.data() + s.size();
  }

  int64_t timestamp(std::string_view s) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size()) return checked_seconds(v, s);
    // Some exports write seconds with a fraction; accept and floor them.
    double d = 0;
    auto [dend, dec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (dec != std::errc() || dend != s.data() + s.size() || !std::isfinite(d) || std::abs(d) > 1e15)
      fail("bad timestamp \"" + std::string(s.substr(0, 40)) + "\" (want unix seconds)");
    return checked_seconds(static_cast<int64_t>(std::floor(d)), s);
  }

  // Unix seconds after the year 3000 are milliseconds (or micro-) written by an exporter:
  // read as seconds they would spread a day over three years, and every later error
  // (a step that does not divide a day, empty windows) would hide the cause.
  int64_t checked_seconds(int64_t v, std::string_view s) {
    constexpr int64_t kYear3000 = 32503680000;
    if (v >= kYear3000)
      fail("timestamp \"" + std::string(s.substr(0, 40)) + "\" is after the year 3000: milliseconds? (want unix seconds)");
    return v;
  }

  double usage(std::string_view s) {
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v))
      fail("bad cpu value \"" + std::string(s.substr(0, 40)) + "\" (want cores, a number)");
    if (v < 0) fail("negative cpu value " + std::string(s.substr(0, 40)));
    return v;
  }

  uint32_t intern(std::string_view fn) {
    key_.assign(fn);
    auto [it, inserted] = index_.try_emplace(key_, static_cast<uint32_t>(trace_.functions.size()));
    if (inserted) trace_.functions.push_back(key_);
    return it->second;
  }

  std::string source_;
  ReadOptions options_;
  Trace trace_;
  std::string carry_;
  std::string key_;
  std::unordered_map<std::string, uint32_t> index_;
  uint64_t line_no_ = 0;
};

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};

}  // namespace

Trace parse_trace_text(const std::string& text, const std::string& source_name, const ReadOptions& options) {
  RowParser parser(source_name, options);
  parser.feed(text);
  return parser.finish();
}

Trace read_trace(const std::string& path, const ReadOptions& options) {
  // gzdopen/gzopen read plain files transparently, so one path serves both.
  gzFile raw = path == "-" ? gzdopen(dup(STDIN_FILENO), "rb") : gzopen(path.c_str(), "rb");
  if (!raw) throw std::runtime_error("cannot open trace " + path);
  std::unique_ptr<gzFile_s, GzCloser> file(raw);
  gzbuffer(raw, 1 << 20);
  RowParser parser(path == "-" ? "<stdin>" : path, options);
  std::string buffer(1 << 20, '\0');
  while (true) {
    const int n = gzread(raw, buffer.data(), static_cast<unsigned>(buffer.size()));
    if (n < 0) {
      int err = 0;
      const char* msg = gzerror(raw, &err);
      throw std::runtime_error("cannot read trace " + path + ": " + (msg ? msg : "gzip error"));
    }
    if (n == 0) {
      int err = Z_OK;
      gzerror(raw, &err);
      if (err == Z_BUF_ERROR) throw std::runtime_error("trace " + path + " is truncated (gzip stream ends early)");
      break;
    }
    parser.feed(std::string_view(buffer.data(), static_cast<size_t>(n)));
  }
  return parser.finish();
}

}  // namespace antiphase::replay
