#pragma once
// Digests name origins by a 64-bit fingerprint of their node id instead of the id
// itself, so a digest entry costs ~12 bytes whatever the host names look like
// (the full id travels once, inside deltas). FNV-1a: stable across builds and hosts.
// Collision odds among 10,000 ids are ~3e-12; a colliding pair would shadow each other
// in digests (both still gossip their own deltas), which we accept.
#include <cstdint>
#include <string_view>

namespace antiphase::gossip {

constexpr uint64_t fingerprint(std::string_view node_id) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (const char c : node_id) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

}  // namespace antiphase::gossip
