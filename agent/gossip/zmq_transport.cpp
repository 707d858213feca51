#include "agent/gossip/zmq_transport.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>
#include <zmq_addon.hpp>

#include "common/gossip/message_codec.h"
#include "common/wire/codec.h"

namespace antiphase::agent::gossip {
namespace {

constexpr size_t kMaxOutboxPerPeer = 8;
// Bounds sockets/fds even if (insecure-mode) peers claim many distinct endpoints.
constexpr size_t kMaxOpenDealers = 256;
constexpr size_t kMaxReceivesPerPoll = 256;
constexpr int kReconnectIvlMaxMs = 5000;
// A connect into a black hole (partition, dead host) is otherwise retried by the kernel
// with SYNs backing off 1, 2, 4, 8 s..., so after the network heals the DEALER waits for
// the next retransmit. Giving up after 1 s makes libzmq start a fresh connect instead.
constexpr int kConnectTimeoutMs = 1000;
// Same for an established connection whose peer went silent: ZMTP pings detect it and
// libzmq reconnects, instead of TCP's retransmission backoff deciding when we talk again.
constexpr int kHeartbeatIvlMs = 1000;
constexpr int kHeartbeatTimeoutMs = 3000;
// Frames expiring for this long with none getting through: reopen the DEALER.
constexpr double kStuckAfterS = 3.0;
// libzmq cuts connections sending larger frames; the gap up to this limit lets the
// agent see (and count) frames that are over our cap but not absurd.
constexpr int64_t kOversizeCountingSlack = 64 * 1024;

}  // namespace

ZmqTransport::ZmqTransport(TransportOptions options)
    : options_(std::move(options)), context_(1), router_(context_, zmq::socket_type::router) {
  if (options_.secure) {
    // Order matters: the ZAP handler must exist before the CURVE server binds.
    options_.allowlist.insert(options_.keys.public_key);
    zap_ = std::make_unique<ZapHandler>(context_, options_.allowlist);
    router_.set(zmq::sockopt::curve_server, 1);
    router_.set(zmq::sockopt::curve_secretkey, zmq::buffer(options_.keys.secret_key));
    router_.set(zmq::sockopt::zap_domain, "antiphase-gossip");
  }
  router_.set(zmq::sockopt::linger, 0);
  router_.set(zmq::sockopt::rcvhwm, options_.hwm * 64);
  router_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(options_.max_message_bytes) + kOversizeCountingSlack);
  router_.bind(options_.bind);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::runtime_error(std::string("gossip: eventfd: ") + std::strerror(errno));
}

ZmqTransport::~ZmqTransport() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
  peers_.clear();
  router_.close();
  zap_.reset();
  context_.close();
}

std::vector<Received> ZmqTransport::poll(std::chrono::milliseconds timeout) {
  std::vector<zmq::pollitem_t> items = {{router_.handle(), 0, ZMQ_POLLIN, 0}};
  if (zap_) items.push_back({zap_->socket().handle(), 0, ZMQ_POLLIN, 0});
  items.push_back({nullptr, wake_fd_, ZMQ_POLLIN, 0});
  std::vector<Received> received;
  zmq::poll(items, timeout);
  if (items.back().revents & ZMQ_POLLIN) {
    uint64_t wakes = 0;
    [[maybe_unused]] const ssize_t drained = ::read(wake_fd_, &wakes, sizeof wakes);
  }
  if (zap_ && (items[1].revents & ZMQ_POLLIN))
    for (int i = 0; i < 16; ++i) zap_->handle_one();
  if (items[0].revents & ZMQ_POLLIN)
    for (size_t i = 0; i < kMaxReceivesPerPoll && receive_one(received); ++i) {
    }
  return received;
}

void ZmqTransport::wake() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = ::write(wake_fd_, &one, sizeof one);
}

bool ZmqTransport::receive_one(std::vector<Received>& out) {
  std::vector<zmq::message_t> parts;
  if (!zmq::recv_multipart(router_, std::back_inserter(parts), zmq::recv_flags::dontwait)) return false;
  // [routing id][frame]: anything else is not from a gossip DEALER.
  if (parts.size() != 2) {
    ++counters_.dropped_malformed;
    return true;
  }
  zmq::message_t& payload = parts[1];
  counters_.bytes_in += payload.size();
  auto result = wire::decode(payload.to_string_view(), options_.max_message_bytes);
  if (auto* error = std::get_if<wire::FrameError>(&result)) {
    (*error == wire::FrameError::Oversize ? counters_.dropped_oversize : counters_.dropped_malformed)++;
    spdlog::debug("gossip: dropped a {}-byte message: {}", payload.size(), wire::to_string(*error));
    return true;
  }
  const wire::Decoded& decoded = std::get<wire::Decoded>(result);
  std::string why;
  auto message = antiphase::gossip::from_wire(decoded.type, decoded.message, options_.limits, &why);
  if (!message) {
    ++counters_.dropped_malformed;
    spdlog::debug("gossip: dropped a {}-byte message: {}", payload.size(), why);
    return true;
  }
  std::string authenticated;
  if (options_.secure) {
    const char* user_id = zmq_msg_gets(payload.handle(), "User-Id");
    authenticated = user_id ? z85_decode_key(user_id) : std::string{};
    // A message may leave its key out (the receiver then knows the sender by its record),
    // but a key it claims must be the one it authenticated with.
    if (authenticated.empty() || (!message->from.public_key.empty() && message->from.public_key != authenticated)) {
      ++counters_.refused_identity;
      return true;
    }
  }
  ++counters_.msgs_in;
  out.push_back(Received{std::move(*message), std::move(authenticated)});
  return true;
}

ZmqTransport::Peer* ZmqTransport::peer_for(const std::string& endpoint, const std::string& public_key, double now) {
  auto it = peers_.find(endpoint);
  if (it != peers_.end() && it->second.public_key == public_key) return &it->second;
  if (options_.secure && public_key.size() != 32) return nullptr;  // cannot authenticate the server
  if (it == peers_.end() && peers_.size() >= kMaxOpenDealers) {
    auto oldest = std::min_element(peers_.begin(), peers_.end(),
                                   [](const auto& a, const auto& b) { return a.second.last_used < b.second.last_used; });
    counters_.send_dropped += oldest->second.outbox.size();
    peers_.erase(oldest);
  }
  Peer peer;
  peer.endpoint = endpoint;
  peer.public_key = public_key;
  peer.last_used = now;
  if (!open_socket(peer, now)) return nullptr;
  peers_[endpoint] = std::move(peer);
  return &peers_[endpoint];
}

bool ZmqTransport::open_socket(Peer& peer, double now) {
  peer.socket = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
  peer.opened_at = now;
  peer.expired = 0;
  zmq::socket_t& socket = *peer.socket;
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::immediate, true);  // queue only on a completed connection
  socket.set(zmq::sockopt::sndhwm, options_.hwm);
  socket.set(zmq::sockopt::rcvhwm, options_.hwm);
  socket.set(zmq::sockopt::reconnect_ivl, options_.reconnect_ivl_ms);
  socket.set(zmq::sockopt::reconnect_ivl_max, kReconnectIvlMaxMs);
  socket.set(zmq::sockopt::connect_timeout, kConnectTimeoutMs);
  socket.set(zmq::sockopt::heartbeat_ivl, kHeartbeatIvlMs);
  socket.set(zmq::sockopt::heartbeat_timeout, kHeartbeatTimeoutMs);
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(options_.max_message_bytes));
  if (options_.secure) {
    socket.set(zmq::sockopt::curve_serverkey, zmq::buffer(peer.public_key));
    socket.set(zmq::sockopt::curve_publickey, zmq::buffer(options_.keys.public_key));
    socket.set(zmq::sockopt::curve_secretkey, zmq::buffer(options_.keys.secret_key));
  }
  try {
    socket.connect(peer.endpoint);
  } catch (const zmq::error_t& error) {
    spdlog::warn("gossip: cannot connect to {}: {}", peer.endpoint, error.what());
    return false;
  }
  return true;
}

void ZmqTransport::recycle_if_stuck(Peer& peer, double now) {
  // Stuck: frames expired, or frames wait that libzmq does not take (IMMEDIATE: no live
  // connection), and nothing got through for kStuckAfterS. Waiting frames count at once,
  // not only once they expire: a DEALER whose connection broke long ago (a partition, a
  // peer that was down) retries on libzmq's backoff, up to kReconnectIvlMaxMs apart, and
  // the first frame after the network heals would expire before the next retry. A fresh
  // socket connects now, and that frame goes out.
  const bool blocked = peer.expired > 0 || !peer.outbox.empty();
  if (!blocked || now - std::max(peer.opened_at, peer.last_sent) < kStuckAfterS) return;
  spdlog::debug("gossip: nothing got through to {} for {:.1f} s; reopening the connection", peer.endpoint,
                now - std::max(peer.opened_at, peer.last_sent));
  ++counters_.dealers_recycled;
  if (!open_socket(peer, now)) peer.outbox.clear();
}

void ZmqTransport::send(const antiphase::gossip::Outgoing& message, double now) {
  std::string frame = antiphase::gossip::encode(message.message);
  if (frame.empty() || frame.size() > options_.max_message_bytes) {
    ++counters_.send_dropped;
    return;
  }
  Peer* peer = peer_for(message.endpoint, message.public_key, now);
  if (!peer) {
    ++counters_.send_dropped;
    return;
  }
  peer->last_used = now;
  if (peer->outbox.size() >= kMaxOutboxPerPeer) {
    peer->outbox.pop_front();
    ++counters_.send_dropped;
    ++peer->expired;  // dropped unsent, like an expired frame
  }
  peer->outbox.emplace_back(now, std::move(frame));
  flush(*peer, now);
}

void ZmqTransport::flush(Peer& peer, double now) {
  while (!peer.outbox.empty()) {
    auto& [queued_at, frame] = peer.outbox.front();
    if (now - queued_at > options_.outbox_ttl_s) {
      ++counters_.send_dropped;
      ++peer.expired;
      peer.outbox.pop_front();
      continue;
    }
    // With IMMEDIATE this fails (EAGAIN) until the connection and handshake complete.
    if (!peer.socket->send(zmq::buffer(frame), zmq::send_flags::dontwait)) return;
    ++counters_.msgs_out;
    counters_.bytes_out += frame.size();
    peer.last_sent = now;
    peer.expired = 0;
    peer.outbox.pop_front();
  }
}

void ZmqTransport::maintain(double now) {
  for (auto it = peers_.begin(); it != peers_.end();) {
    flush(it->second, now);
    recycle_if_stuck(it->second, now);
    if (it->second.outbox.empty() && now - it->second.last_used > options_.dealer_idle_s)
      it = peers_.erase(it);
    else
      ++it;
  }
}

TransportCounters ZmqTransport::counters() const {
  TransportCounters counters = counters_;
  counters.dealers_open = peers_.size();
  return counters;
}

}  // namespace antiphase::agent::gossip
