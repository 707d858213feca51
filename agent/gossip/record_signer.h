#pragma once
// Ed25519 signatures on gossip records, made with the agent's CurveZMQ secret key.
//
// A CURVE secret key is an X25519 scalar a; the same scalar on the Edwards form of the
// curve gives an Ed25519 public key A = aB whose Montgomery u-coordinate is the CURVE
// public key (the XEdDSA construction, as in Signal). So no second key has to be made,
// distributed or allowlisted: a node record carries A, and a receiver accepts it only if
// libsodium's crypto_sign_ed25519_pk_to_curve25519(A) is an allowlisted CURVE key. -A
// maps to the same CURVE key, but signing for it needs -a, i.e. a.
//
// Signatures are standard Ed25519 (R, S) and are checked with crypto_sign_verify_detached;
// the nonce r is derived from a secret prefix and the message, as in Ed25519 itself.
#include <array>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "agent/gossip/curve_keys.h"
#include "common/gossip/signing.h"

namespace antiphase::agent::gossip {

class CurveSigner final : public antiphase::gossip::RecordAuthority {
 public:
  using Allowlist = std::shared_ptr<const std::set<std::string>>;  // raw 32-byte CURVE public keys
  // Throws KeyError if the keypair is inconsistent or libsodium cannot start.
  CurveSigner(const CurveKeypair& keys, Allowlist allowlist);

  bool enabled() const override { return true; }
  std::string sign_key() const override { return sign_key_; }
  std::string sign(std::string_view message) const override;
  bool key_allowed(std::string_view curve_key, std::string_view sign_key) const override;
  bool verify(std::string_view sign_key, std::string_view message, std::string_view signature) const override;

 private:
  std::array<unsigned char, 32> scalar_{};  // a, reduced mod the group order
  std::array<unsigned char, 32> prefix_{};  // secret nonce key
  std::string sign_key_;                    // A = aB
  Allowlist allowlist_;
};

// The Ed25519 public key that signs for a CURVE secret key (32 raw bytes in and out).
std::string sign_key_for(const std::string& curve_secret_key);

}  // namespace antiphase::agent::gossip
