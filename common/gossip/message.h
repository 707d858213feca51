#pragma once
// What agents say to each other, as the protocol core sees it. The core builds and
// reads these structs; common/gossip/message_codec.h turns them into wire frames and
// back. Records travel by reference (RecordRef), so a message relayed in memory (the
// simulator) shares them instead of copying.
//
//   PING(seq)            A -> B     SWIM probe; B answers ACK(seq, B's incarnation)
//   PING_REQ(seq, C)     A -> H     "probe C for me": H pings C, forwards C's ACK to A, or
//                                   sends NACK(seq) if C stays silent (Lifeguard)
//   NEWS(keys, members)  A -> B     rumours: (key hash, stamp hash) of records A learned
//                                   lately, membership changes; B pulls what it lacks
//   PULL(keys)           B -> A     A answers PUSH with its current records of those keys
//   AE_SYN(buckets)      A -> B     anti-entropy: a hash per bucket of A's keys
//   AE_ACK(entries)      B -> A     every (key, stamp) B holds in buckets that differ;
//                                   A then pulls what B has and pushes what B lacks
//   LEAVE(own record)    A -> *     graceful leave
// Membership rumours ride on PING, ACK, NEWS and the anti-entropy messages.
#include <cstdint>
#include <string>
#include <vector>

#include "common/gossip/membership.h"
#include "common/gossip/record.h"
#include "common/wire/frame.h"

namespace antiphase::gossip {

using MessageType = wire::MessageType;

struct Sender {
  std::string node_id;
  uint64_t generation = 0;
  std::string endpoint;    // where to answer
  std::string public_key;  // CurveZMQ key (empty when insecure)
};

struct NewsItem {
  uint64_t key_hash = 0;
  uint32_t stamp_hash = 0;
};

struct MemberNews {
  uint64_t origin_fp = 0;  // fingerprint of the member's node id
  uint64_t generation = 0, version = 0;  // the incarnation the rumour is about
  PeerState state = PeerState::Suspect;  // Suspect or Dead
  uint64_t from_fp = 0;    // who suspected it (Lifeguard counts independent suspectors)
};

struct ProbeTarget {
  std::string node_id, endpoint, public_key;
};

struct Message {
  MessageType type = MessageType::News;
  Sender from;
  uint32_t seq = 0;
  uint64_t incarnation_generation = 0, incarnation_version = 0;  // ACK
  ProbeTarget target;                                            // PING_REQ
  std::vector<NewsItem> news;
  std::vector<MemberNews> members;
  std::vector<uint64_t> pull;
  std::vector<RecordRef> records;
  uint32_t ae_bucket_count = 0;
  std::vector<uint32_t> ae_hashes;
  std::vector<uint32_t> ae_buckets;
  std::vector<NewsItem> ae_entries;
};

struct Outgoing {
  std::string endpoint;
  std::string public_key;
  Message message;
};

}  // namespace antiphase::gossip
