#pragma once
// Move-only owners of the kernel and libbpf handles the samplers and the feature probes
// hold, so that every exit path (a throw half-way through loading, an early return in a
// probe) releases them. Modelled on bpftrace's util/fd.h.
//
//   UniqueFd fd(bpf_prog_load(...));       // negative = empty; closed on destruction
//   LibbpfPtr<bpf_link, bpf_link__destroy> link(bpf_program__attach(prog));
//
// And one way to word an OS error: os_error_text(err) takes errno or a libbpf-style
// negative return alike.
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <utility>

namespace antiphase::agent {

class UniqueFd {
 public:
  UniqueFd() = default;
  // Takes ownership; a negative value (a failed open) makes an empty owner.
  explicit UniqueFd(int fd) : fd_(fd < 0 ? -1 : fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  // Hands the descriptor to a new owner (e.g. a libbpf perf link, which closes it).
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd < 0 ? -1 : fd;
  }

 private:
  int fd_ = -1;
};

// Calls a C library's destroy/free function; lets std::unique_ptr own libbpf objects and
// generated skeletons (whose __destroy functions accept nullptr).
template <auto Destroy>
struct CallDestroy {
  template <typename T>
  void operator()(T* p) const {
    if (p) Destroy(p);
  }
};
template <typename T, auto Destroy>
using LibbpfPtr = std::unique_ptr<T, CallDestroy<Destroy>>;

// strerror for errno or a negative libbpf/kernel return code.
inline std::string os_error_text(int err) { return std::strerror(err < 0 ? -err : err); }

}  // namespace antiphase::agent
