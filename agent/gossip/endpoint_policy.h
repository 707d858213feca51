#pragma once
// Which endpoints we may gossip with, and how seeds name a peer's CurveZMQ key.
#include <string>

namespace antiphase::agent::gossip {

// True for tcp://127.x.x.x:port, tcp://[::1]:port, tcp://localhost:port, ipc:// and inproc://.
bool is_loopback_endpoint(const std::string& endpoint);

// A seed is "tcp://host:port" or "<40-char Z85 public key>@tcp://host:port" (the key is
// needed to reach the seed over CurveZMQ, like ssh's known host key).
struct SeedSpec {
  std::string endpoint;
  std::string public_key;  // raw 32 bytes, empty if none given
};
// Throws std::invalid_argument with a readable message on a malformed seed.
SeedSpec parse_seed(const std::string& text);

}  // namespace antiphase::agent::gossip
