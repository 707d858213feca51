#include "agent/gossip/record_signer.h"

#include <sodium.h>

#include <cstring>

namespace antiphase::agent::gossip {
namespace {

constexpr std::string_view kNonceDomain = "antiphase-gossip-xeddsa-nonce";

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

void start_sodium() {
  if (sodium_init() < 0) throw KeyError("libsodium failed to initialise");
}

// The X25519 scalar a CURVE secret key stands for, reduced mod L.
std::array<unsigned char, 32> scalar_of(const std::string& curve_secret_key) {
  if (curve_secret_key.size() != 32) throw KeyError("CURVE secret key must be 32 bytes");
  unsigned char wide[64] = {};
  std::memcpy(wide, curve_secret_key.data(), 32);
  wide[0] &= 248;  // X25519 clamping, as crypto_scalarmult applies it
  wide[31] &= 127;
  wide[31] |= 64;
  std::array<unsigned char, 32> scalar{};
  crypto_core_ed25519_scalar_reduce(scalar.data(), wide);
  sodium_memzero(wide, sizeof(wide));
  return scalar;
}

std::string point_of(const std::array<unsigned char, 32>& scalar) {
  unsigned char point[32];
  if (crypto_scalarmult_ed25519_base_noclamp(point, scalar.data()) != 0) throw KeyError("degenerate CURVE secret key");
  return std::string(reinterpret_cast<char*>(point), 32);
}

std::array<unsigned char, 32> reduce64(const unsigned char (&digest)[64]) {
  std::array<unsigned char, 32> out{};
  crypto_core_ed25519_scalar_reduce(out.data(), digest);
  return out;
}

}  // namespace

std::string sign_key_for(const std::string& curve_secret_key) {
  start_sodium();
  auto scalar = scalar_of(curve_secret_key);
  std::string key = point_of(scalar);
  sodium_memzero(scalar.data(), scalar.size());
  return key;
}

CurveSigner::CurveSigner(const CurveKeypair& keys, Allowlist allowlist) : allowlist_(std::move(allowlist)) {
  start_sodium();
  scalar_ = scalar_of(keys.secret_key);
  sign_key_ = point_of(scalar_);
  unsigned char curve[32];
  if (crypto_sign_ed25519_pk_to_curve25519(curve, bytes(sign_key_)) != 0 ||
      std::string_view(reinterpret_cast<char*>(curve), 32) != keys.public_key)
    throw KeyError("CURVE public key does not match the secret key");
  unsigned char digest[64];
  crypto_hash_sha512_state state;
  crypto_hash_sha512_init(&state);
  crypto_hash_sha512_update(&state, bytes(kNonceDomain), kNonceDomain.size());
  crypto_hash_sha512_update(&state, scalar_.data(), scalar_.size());
  crypto_hash_sha512_final(&state, digest);
  std::memcpy(prefix_.data(), digest, prefix_.size());
  sodium_memzero(digest, sizeof(digest));
}

std::string CurveSigner::sign(std::string_view message) const {
  // r = H(prefix || M) mod L;  R = rB;  h = H(R || A || M) mod L;  S = r + h a mod L.
  unsigned char digest[64];
  crypto_hash_sha512_state state;
  crypto_hash_sha512_init(&state);
  crypto_hash_sha512_update(&state, prefix_.data(), prefix_.size());
  crypto_hash_sha512_update(&state, bytes(message), message.size());
  crypto_hash_sha512_final(&state, digest);
  const auto r = reduce64(digest);
  const std::string big_r = point_of(r);
  crypto_hash_sha512_init(&state);
  crypto_hash_sha512_update(&state, bytes(big_r), 32);
  crypto_hash_sha512_update(&state, bytes(sign_key_), 32);
  crypto_hash_sha512_update(&state, bytes(message), message.size());
  crypto_hash_sha512_final(&state, digest);
  const auto h = reduce64(digest);
  unsigned char ha[32], s[32];
  crypto_core_ed25519_scalar_mul(ha, h.data(), scalar_.data());
  crypto_core_ed25519_scalar_add(s, r.data(), ha);
  std::string signature = big_r;
  signature.append(reinterpret_cast<char*>(s), 32);
  sodium_memzero(digest, sizeof(digest));
  return signature;
}

bool CurveSigner::key_allowed(std::string_view curve_key, std::string_view sign_key) const {
  if (curve_key.size() != 32 || sign_key.size() != 32) return false;
  if (!allowlist_ || !allowlist_->count(std::string(curve_key))) return false;
  unsigned char curve[32];
  if (crypto_sign_ed25519_pk_to_curve25519(curve, bytes(sign_key)) != 0) return false;
  return std::memcmp(curve, curve_key.data(), 32) == 0;
}

bool CurveSigner::verify(std::string_view sign_key, std::string_view message, std::string_view signature) const {
  if (sign_key.size() != 32 || signature.size() != crypto_sign_BYTES) return false;
  return crypto_sign_verify_detached(bytes(signature), bytes(message), message.size(), bytes(sign_key)) == 0;
}

}  // namespace antiphase::agent::gossip
