#pragma once
// ZeroMQ Authentication Protocol (RFC 27) handler for CurveZMQ: a REP socket on
// inproc://zeromq.zap.01 that accepts a connecting peer only if its public key is in
// the allowlist. It must be bound BEFORE the CURVE server socket binds: without a ZAP
// handler libzmq encrypts but accepts any client key.
#include <atomic>
#include <cstdint>
#include <set>
#include <string>

#include <zmq.hpp>

namespace antiphase::agent::gossip {

class ZapHandler {
 public:
  ZapHandler(zmq::context_t& context, std::set<std::string> allowed_public_keys);
  zmq::socket_t& socket() { return socket_; }
  // Answers one pending request (call when the socket is readable). Never throws on
  // malformed requests: they are answered with status 500 when possible.
  void handle_one();
  uint64_t accepted() const { return accepted_; }
  uint64_t refused() const { return refused_; }

 private:
  zmq::socket_t socket_;
  std::set<std::string> allowed_;
  std::atomic<uint64_t> accepted_{0}, refused_{0};
};

}  // namespace antiphase::agent::gossip
