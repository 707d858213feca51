#pragma once
// CurveZMQ key files. Two accepted formats (both hold Z85 text, 40 characters per key,
// as zmq_curve_keypair() produces):
//   1. ZeroMQ zcert style (what `keygen` writes and czmq's zcert_save writes):
//        curve
//            public-key = "<40 chars>"
//            secret-key = "<40 chars>"      (secret file only)
//   2. A plain file whose first non-comment line is the 40-character Z85 key.
// Secret key files must not be readable by group or others (mode 0600 or stricter).
#include <set>
#include <stdexcept>
#include <string>

namespace antiphase::agent::gossip {

struct KeyError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CurveKeypair {
  std::string public_key;  // 32 raw bytes
  std::string secret_key;  // 32 raw bytes
};

// Generates a keypair and writes `public_path` (0644, public key only) and
// `secret_path` (0600, both keys). Refuses to overwrite existing files.
CurveKeypair generate_keypair_files(const std::string& public_path, const std::string& secret_path);

// Loads a secret key file (checks permissions; derives and cross-checks the public key).
CurveKeypair load_secret_key_file(const std::string& path);
// Loads a public key file; returns 32 raw bytes.
std::string load_public_key_file(const std::string& path);
// Every regular file in `dir` that holds a public key (unreadable/invalid files are
// reported by throwing, so a typo cannot silently shrink the allowlist).
std::set<std::string> load_allowlist_dir(const std::string& dir);

std::string z85_encode_key(const std::string& raw32);
// Empty string if `text` is not a valid 40-character Z85 key.
std::string z85_decode_key(const std::string& text);

}  // namespace antiphase::agent::gossip
