#include "agent/gossip/zap_handler.h"

#include <vector>

#include <spdlog/spdlog.h>
#include <zmq_addon.hpp>

#include "agent/gossip/curve_keys.h"

namespace antiphase::agent::gossip {

ZapHandler::ZapHandler(zmq::context_t& context, std::set<std::string> allowed_public_keys)
    : socket_(context, zmq::socket_type::rep), allowed_(std::move(allowed_public_keys)) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind("inproc://zeromq.zap.01");
}

void ZapHandler::handle_one() {
  std::vector<zmq::message_t> request;
  if (!zmq::recv_multipart(socket_, std::back_inserter(request), zmq::recv_flags::dontwait)) return;
  // Frames: version, request id, domain, address, routing id, mechanism, credentials...
  auto reply = [&](const char* code, const char* text, const std::string& user_id) {
    const std::string request_id = request.size() > 1 ? request[1].to_string() : std::string{};
    std::vector<zmq::const_buffer> frames = {zmq::str_buffer("1.0"), zmq::buffer(request_id), zmq::buffer(code, 3),
                                             zmq::buffer(std::string_view(text)), zmq::buffer(user_id),
                                             zmq::const_buffer()};
    zmq::send_multipart(socket_, frames);
  };
  if (request.size() < 7 || request[0].to_string() != "1.0" || request[5].to_string() != "CURVE" ||
      request[6].size() != 32) {
    ++refused_;
    reply("500", "malformed ZAP request", "");
    return;
  }
  const std::string client_key = request[6].to_string();
  if (!allowed_.count(client_key)) {
    ++refused_;
    spdlog::warn("gossip: refused CURVE client {} from {}: key not in allowlist", z85_encode_key(client_key),
                 request[3].to_string());
    reply("400", "key not allowed", "");
    return;
  }
  ++accepted_;
  // The user id travels with every message from this peer ("User-Id" property), so the
  // agent can check that a message's claimed sender key is the authenticated one.
  reply("200", "OK", z85_encode_key(client_key));
}

}  // namespace antiphase::agent::gossip
