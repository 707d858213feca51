// The ZeroMQ transport on its own (no protocol): two transports over loopback.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "agent/gossip/zmq_transport.h"
#include "tests/system/free_ports.h"

using namespace std::chrono_literals;
using antiphase::agent::gossip::TransportOptions;
using antiphase::agent::gossip::ZmqTransport;

namespace {

using Clock = std::chrono::steady_clock;

class TransportPair : public ::testing::Test {
 protected:
  void SetUp() override {
    const int base = ::antiphase::testing::free_port_block(2);
    a_endpoint_ = "tcp://127.0.0.1:" + std::to_string(base);
    b_endpoint_ = "tcp://127.0.0.1:" + std::to_string(base + 1);
  }
  double now() const { return std::chrono::duration<double>(Clock::now() - epoch_).count(); }
  std::unique_ptr<ZmqTransport> make(const std::string& bind, int reconnect_ivl_ms = 100) const {
    TransportOptions options;
    options.bind = bind;
    options.reconnect_ivl_ms = reconnect_ivl_ms;
    return std::make_unique<ZmqTransport>(options);
  }
  // Sends one PING from a to b; seconds until b received it, or -1 after `within_s`.
  double deliver(ZmqTransport& a, ZmqTransport& b, double within_s) {
    antiphase::gossip::Outgoing ping;
    ping.endpoint = b_endpoint_;
    ping.message.type = antiphase::gossip::MessageType::Ping;
    ping.message.from = {"a", 1, a_endpoint_, ""};
    ping.message.seq = ++seq_;
    const double sent_at = now();
    a.send(ping, sent_at);
    while (now() - sent_at < within_s) {
      a.maintain(now());  // as the agent loop does after every send
      for (const auto& received : b.poll(10ms))
        if (received.message.seq == seq_) return now() - sent_at;
      a.poll(0ms);
    }
    return -1;
  }

  Clock::time_point epoch_ = Clock::now();
  std::string a_endpoint_, b_endpoint_;
  uint32_t seq_ = 0;
};

}  // namespace

// A peer away for a while (a partition, a restart) leaves our DEALER retrying on libzmq's
// backoff, up to 5 s apart in the agent. The first frame after the peer is back must not
// wait for the next retry (and expire on the way, 2 s): the transport reopens the DEALER at
// once when a frame waits and nothing got through for 3 s. Here libzmq's first retry is
// 5-10 s away, as after a long partition; before the reopen, the frame needed that long.
TEST_F(TransportPair, FirstFrameAfterAnOutageDoesNotWaitForLibzmqsReconnectBackoff) {
  auto a = make(a_endpoint_, /*reconnect_ivl_ms=*/5000);
  auto b = make(b_endpoint_);
  ASSERT_GE(deliver(*a, *b, 3.0), 0) << "the first connection did not work";
  b.reset();  // the peer goes away; a's DEALER loses its connection
  const auto gone = Clock::now();
  while (Clock::now() - gone < 3300ms) {
    a->poll(20ms);
    a->maintain(now());
  }
  b = make(b_endpoint_);  // back, at the same endpoint
  const double took = deliver(*a, *b, 1.5);
  std::cout << "[figure] first_frame_after_outage_s = " << took << "\n";
  EXPECT_GE(took, 0) << "the first frame after the outage did not arrive within 1.5 s";
  EXPECT_LT(took, 1.0);
}
