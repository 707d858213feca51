#include "agent/gossip/endpoint_policy.h"

#include <stdexcept>

#include "agent/gossip/curve_keys.h"

namespace antiphase::agent::gossip {
namespace {

std::string host_of_tcp(const std::string& endpoint) {
  const std::string prefix = "tcp://";
  if (!endpoint.starts_with(prefix)) return {};
  std::string rest = endpoint.substr(prefix.size());
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    return close == std::string::npos ? std::string{} : rest.substr(1, close - 1);
  }
  const auto colon = rest.rfind(':');
  return colon == std::string::npos ? rest : rest.substr(0, colon);
}

}  // namespace

bool is_loopback_endpoint(const std::string& endpoint) {
  if (endpoint.starts_with("ipc://") || endpoint.starts_with("inproc://")) return true;
  const std::string host = host_of_tcp(endpoint);
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

SeedSpec parse_seed(const std::string& text) {
  constexpr size_t kKeyChars = 40;
  if (text.size() > kKeyChars + 1 && text[kKeyChars] == '@' && !text.starts_with("tcp://")) {
    const std::string key = z85_decode_key(text.substr(0, kKeyChars));
    if (key.empty()) throw std::invalid_argument("seed '" + text + "': the part before '@' is not a Z85 public key");
    return SeedSpec{text.substr(kKeyChars + 1), key};
  }
  if (!text.starts_with("tcp://") && !text.starts_with("ipc://"))
    throw std::invalid_argument("seed '" + text + "' is not tcp://host:port or <z85 key>@tcp://host:port");
  return SeedSpec{text, {}};
}

}  // namespace antiphase::agent::gossip
