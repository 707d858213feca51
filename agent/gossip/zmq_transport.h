#pragma once
// ZeroMQ transport for the gossip protocol: one bound ROUTER receives every message;
// short-lived DEALERs (one per peer, closed when idle) send them. All messages are
// one-way (the protocol replies to the sender's advertised endpoint), so no
// request/reply state lives in sockets. Single-threaded: used only by the agent thread.
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "agent/gossip/curve_keys.h"
#include "agent/gossip/zap_handler.h"
#include "common/gossip/message.h"
#include "common/gossip/protocol_config.h"

namespace antiphase::agent::gossip {

struct TransportOptions {
  std::string bind;
  size_t max_message_bytes = 1 << 20;
  antiphase::gossip::ProtocolConfig limits;  // name/summary caps applied while decoding
  bool secure = false;
  CurveKeypair keys;                // used when secure
  std::set<std::string> allowlist;  // raw 32-byte client keys accepted when secure
  double dealer_idle_s = 5;         // close a peer's DEALER after this long unused
  double outbox_ttl_s = 2;          // drop queued messages a peer could not take in time
  int hwm = 16;
  int reconnect_ivl_ms = 100;       // libzmq's first retry after a lost connection (doubling up to 5 s)
};

// A decoded message and the CurveZMQ key its sender authenticated with (empty when insecure).
struct Received {
  antiphase::gossip::Message message;
  std::string authenticated_key;
};

struct TransportCounters {
  uint64_t msgs_in = 0, msgs_out = 0, bytes_in = 0, bytes_out = 0;
  uint64_t dropped_malformed = 0, dropped_oversize = 0;
  uint64_t refused_identity = 0;  // authenticated key differs from the key the message claims
  uint64_t send_dropped = 0;      // peer unreachable/slow: queued message expired or outbox full
  uint64_t dealers_open = 0;
  uint64_t dealers_recycled = 0;  // DEALERs closed and reopened because nothing got through
};

class ZmqTransport {
 public:
  explicit ZmqTransport(TransportOptions options);
  ~ZmqTransport();

  // Waits up to `timeout` for traffic (or wake()), answers ZAP requests, returns valid messages.
  std::vector<Received> poll(std::chrono::milliseconds timeout);
  // Ends the current or next poll() early. The one member safe to call from any thread.
  void wake();
  void send(const antiphase::gossip::Outgoing& message, double now);
  // Retries queued sends, expires old ones, closes idle DEALERs.
  void maintain(double now);

  TransportCounters counters() const;
  uint64_t refused_auth() const { return zap_ ? zap_->refused() : 0; }

 private:
  struct Peer {
    std::unique_ptr<zmq::socket_t> socket;
    std::string endpoint, public_key;
    double last_used = 0;
    double opened_at = 0, last_sent = 0;  // socket (re)opened; last frame handed to libzmq
    uint64_t expired = 0;                 // frames expired or pushed out unsent since the last one got through
    std::deque<std::pair<double, std::string>> outbox;  // (queued at, frame)
  };
  Peer* peer_for(const std::string& endpoint, const std::string& public_key, double now);
  bool open_socket(Peer& peer, double now);
  // A DEALER whose handshake the server refused (ZAP 400: our key was not allowlisted
  // then) is terminated by libzmq and never reconnects, so every later frame expires; one
  // whose connection broke long ago retries only on libzmq's backoff. Reopening it when
  // frames wait or expire with nothing through for a while reaches a peer that allows us
  // again, or is reachable again, at once.
  void recycle_if_stuck(Peer& peer, double now);
  void flush(Peer& peer, double now);
  bool receive_one(std::vector<Received>& out);  // false when nothing was queued

  TransportOptions options_;
  zmq::context_t context_;
  std::unique_ptr<ZapHandler> zap_;  // declared before router_: bound first
  zmq::socket_t router_;
  std::unordered_map<std::string, Peer> peers_;
  TransportCounters counters_;
  int wake_fd_ = -1;  // eventfd, polled beside the sockets
};

}  // namespace antiphase::agent::gossip
