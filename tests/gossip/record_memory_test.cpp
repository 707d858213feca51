// RecordStore::approximate_bytes() against the real heap: the simulator's "state per node"
// and the scaling goal (docs/gossip.md, "Scaling") rest on that estimate, so it is checked
// here against glibc's count of bytes in use (mallinfo2) for a replica of realistic shape.
#include <gtest/gtest.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <string>

#include "common/gossip/record_store.h"
#include "tests/sanitizers.h"

namespace g = antiphase::gossip;

namespace {

constexpr size_t kNodes = 2000, kFunctions = 20000;
constexpr uint64_t kGeneration = 1700000000;

std::string node_id(size_t i) { return "worker-eu-west-1a-" + std::to_string(i); }

// Half the names short (kept inside std::string's small buffer), half of a service's length.
std::string function_name(size_t i) {
  return i % 2 ? "fn-" + std::to_string(i) : "checkout-api-worker-" + std::to_string(i);
}

g::RecordRef node_record(size_t i) {
  const std::string endpoint = "tcp://10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ":7946";
  return g::share(g::RecordDraft{.kind = g::RecordKind::Node, .key = node_id(i), .author_fp = g::fingerprint(node_id(i)),
                                 .generation = kGeneration, .version = 7, .payload = std::string(200, 'h'),
                                 .node = g::NodeBody{endpoint, 16, std::string(32, 'c'), std::string(32, 'e'), false},
                                 .signature = std::string(64, 's')});
}

g::RecordRef function_record(size_t i) {
  return g::share(g::RecordDraft{.kind = g::RecordKind::Function, .key = function_name(i),
                                 .author_fp = g::fingerprint(node_id(i % kNodes)), .generation = kGeneration,
                                 .version = i + 1, .payload = std::string(200, 'f'), .signature = std::string(64, 's')});
}

size_t heap_in_use() {
#if defined(__GLIBC__)
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;  // small chunks in use plus mmapped blocks
#else
  return 0;
#endif
}

bool heap_measurable() {
#if !defined(__GLIBC__)
  return false;
#else
  return !antiphase::testing::kThreadSanitizer && !antiphase::testing::kMemorySanitizer;
#endif
}

}  // namespace

TEST(RecordMemory, ApproximateBytesMatchesTheHeapWithin15Percent) {
  if (!heap_measurable()) GTEST_SKIP() << "needs glibc's malloc (mallinfo2), without sanitizers";
  g::ProtocolConfig config;
  config.track_changes = false;  // the change feed is not replicated state
  const g::UnsignedAuthority authority;
  const size_t before = heap_in_use();
  {
    g::RecordStore store(node_id(kNodes), kGeneration, config, authority);
    store.write_self(g::NodeBody{"tcp://10.0.99.99:7946", 16, std::string(32, 'c'), std::string(32, 'e'), false},
                     std::string(200, 'h'), 0);
    for (size_t i = 0; i < kNodes; ++i) ASSERT_EQ(store.apply(node_record(i), 0), g::Verdict::Applied);
    for (size_t i = 0; i < kFunctions; ++i) ASSERT_EQ(store.apply(function_record(i), 0), g::Verdict::Applied);
    const double heap = static_cast<double>(heap_in_use() - before);
    const double estimate = static_cast<double>(store.approximate_bytes());
    RecordProperty("heap_bytes", std::to_string(static_cast<size_t>(heap)));
    RecordProperty("approximate_bytes", std::to_string(static_cast<size_t>(estimate)));
    std::printf("heap %.0f B, approximate_bytes %.0f B (%+.1f %%)\n", heap, estimate, 100 * (estimate / heap - 1));
    EXPECT_NEAR(estimate / heap, 1.0, 0.15);
  }
}
