#pragma once
// Who may author records, and how their signatures are checked. The protocol core holds
// no keys and does no cryptography itself: the agent passes an implementation backed by
// libsodium (agent/gossip/record_signer.h), tests and the simulator may pass their own.
//
// The contract the core relies on:
//   - a node record is accepted only if key_allowed(curve_key, sign_key) (its CurveZMQ key
//     is allowlisted and the signing key belongs to it) and its signature verifies with
//     sign_key;
//   - every other record of that author must verify with the sign_key of the author's
//     current node record.
#include <string>
#include <string_view>

namespace antiphase::gossip {

class RecordAuthority {
 public:
  virtual ~RecordAuthority() = default;
  // False in insecure mode: records are neither signed nor checked.
  virtual bool enabled() const = 0;
  // Our signing public key (32 bytes), published in our node record.
  virtual std::string sign_key() const = 0;
  // Our signature over `message` (64 bytes).
  virtual std::string sign(std::string_view message) const = 0;
  virtual bool key_allowed(std::string_view curve_key, std::string_view sign_key) const = 0;
  virtual bool verify(std::string_view sign_key, std::string_view message, std::string_view signature) const = 0;
};

// Insecure mode: nothing is signed, everything is accepted.
class UnsignedAuthority final : public RecordAuthority {
 public:
  bool enabled() const override { return false; }
  std::string sign_key() const override { return {}; }
  std::string sign(std::string_view) const override { return {}; }
  bool key_allowed(std::string_view, std::string_view) const override { return true; }
  bool verify(std::string_view, std::string_view, std::string_view) const override { return true; }
};

}  // namespace antiphase::gossip
