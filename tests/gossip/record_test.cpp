// Records (common/gossip/record.h): a draft frozen by share() reads back field for field,
// and signs and hashes exactly as records did before they were packed into one block.
#include <gtest/gtest.h>

#include <stdexcept>

#include "common/gossip/record.h"

namespace g = antiphase::gossip;

namespace {

g::RecordDraft function_draft() {
  return {.kind = g::RecordKind::Function, .key = "resize-image", .author_fp = g::fingerprint("worker-eu-west-1a-17"),
          .generation = 1700000000, .version = 42, .payload = std::string(200, 's'), .signature = std::string(64, 'g')};
}

g::RecordDraft node_draft() {
  return {.kind = g::RecordKind::Node, .key = "worker-eu-west-1a-17", .author_fp = g::fingerprint("worker-eu-west-1a-17"),
          .generation = 1700000000, .version = 9, .payload = "host-shape",
          .node = g::NodeBody{"tcp://10.0.0.3:7946", 32.5, std::string(32, 'c'), std::string(32, 'e'), true},
          .signature = std::string(64, 'z')};
}

uint64_t fnv(std::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (const char c : bytes) hash = (hash ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  return hash;
}

void expect_same(const g::RecordDraft& a, const g::RecordDraft& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.author_fp, b.author_fp);
  EXPECT_EQ(a.generation, b.generation);
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.payload, b.payload);
  EXPECT_EQ(a.signature, b.signature);
  ASSERT_EQ(a.node.has_value(), b.node.has_value());
  if (!a.node) return;
  EXPECT_EQ(a.node->endpoint, b.node->endpoint);
  EXPECT_EQ(a.node->capacity_cores, b.node->capacity_cores);
  EXPECT_EQ(a.node->curve_key, b.node->curve_key);
  EXPECT_EQ(a.node->sign_key, b.node->sign_key);
  EXPECT_EQ(a.node->left, b.node->left);
}

}  // namespace

TEST(Record, ReadsBackEveryFieldOfItsDraft) {
  for (const g::RecordDraft& draft : {function_draft(), node_draft()}) {
    const g::RecordRef record = g::share(draft);
    expect_same(g::draft_of(*record), draft);
    EXPECT_EQ(g::signing_bytes(*record), g::signing_bytes(draft));
  }
  const g::RecordRef node = g::share(node_draft());
  EXPECT_EQ(node->endpoint(), "tcp://10.0.0.3:7946");
  EXPECT_EQ(node->capacity_cores(), 32.5);
  EXPECT_TRUE(node->left());
}

// Values from the layout before records were packed (std::string fields): the stamp and
// key hashes travel in NEWS and anti-entropy, and signatures cover the signing bytes, so
// none may change with the layout.
TEST(Record, HashesAndSigningBytesAreThoseOfTheStringLayout) {
  const g::RecordRef function = g::share(function_draft());
  EXPECT_EQ(function->key_hash, 0x15da1791465ec206ull);
  EXPECT_EQ(function->stamp_hash, 0xc86b905du);
  EXPECT_EQ(g::signing_bytes(*function).size(), 279u);
  EXPECT_EQ(fnv(g::signing_bytes(*function)), 0x7f30673948d1685full);
  const g::RecordRef node = g::share(node_draft());
  EXPECT_EQ(node->key_hash, 0x8bd14fa380a354fcull);
  EXPECT_EQ(node->stamp_hash, 0x1ad49295u);
  EXPECT_EQ(g::signing_bytes(*node).size(), 213u);
  EXPECT_EQ(fnv(g::signing_bytes(*node)), 0x472138f4c883073full);
}

TEST(Record, ShareRefusesWhatTheHeaderCannotHold) {
  g::RecordDraft bodiless = node_draft();
  bodiless.node.reset();
  EXPECT_THROW(g::share(bodiless), std::invalid_argument);
  g::RecordDraft function_with_body = function_draft();
  function_with_body.node = g::NodeBody{};
  EXPECT_THROW(g::share(function_with_body), std::invalid_argument);
  g::RecordDraft long_key = function_draft();
  long_key.key.assign(70000, 'k');
  EXPECT_THROW(g::share(long_key), std::length_error);
  g::RecordDraft long_signature = function_draft();
  long_signature.signature.assign(256, 's');
  EXPECT_THROW(g::share(long_signature), std::length_error);
}

TEST(Record, OneAllocationAsMallocRoundsIt) {
  const g::RecordRef function = g::share(function_draft());
  EXPECT_EQ(function->allocation_bytes(), 64u + 12 + 200 + 64);
  EXPECT_EQ(g::record_bytes(*function), 352u);  // 340 + malloc's 8-byte header, rounded up to 16
}
