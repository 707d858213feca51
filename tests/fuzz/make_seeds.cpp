// Writes the binary seed corpora (state file, shape summary, gossip frame) that are
// committed under tests/fuzz/corpus/. The text corpora (config, trace, API) are
// hand-written files. Run once after a format change:
//   build-fuzz/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus
// Seeds for fuzz_state_load and fuzz_summary_decode are the bytes those targets frame
// themselves (state payload without its 20-byte header; summary without format byte
// and CRC), plus one complete file each for the raw path.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "common/shape/shape.h"
#include "common/gossip/message_codec.h"
#include "common/wire/codec.h"

namespace fs = std::filesystem;
using namespace antiphase;

namespace {

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
  std::printf("%s/%s: %zu bytes\n", dir.c_str(), name.c_str(), bytes.size());
}

// A day-shaped model: a few days of 15-minute samples of a sine around 1 core.
shape::ShapeModel learned_model(double phase, int days) {
  shape::ShapeModel m{shape::ShapeConfig{}};
  const int64_t start = 1700000000 - 1700000000 % 86400;
  for (int64_t t = start; t < start + days * 86400; t += 900)
    m.add_sample(t, 1.0 + 0.8 * std::sin(2 * M_PI * (static_cast<double>(t % 86400) / 86400 + phase)), 900);
  return m;
}

void state_seeds(const fs::path& dir) {
  std::map<std::string, shape::ShapeModel> functions{{"web", learned_model(0.0, 2)}, {"batch", learned_model(0.5, 1)}};
  const std::string full = shape::serialize_state(functions, learned_model(0.25, 2));
  write(dir, "two_functions_payload", full.substr(shape::kStateHeaderBytes));
  write(dir, "two_functions_file", full);
  const std::string empty = shape::serialize_state({}, shape::ShapeModel{shape::ShapeConfig{}});
  write(dir, "empty_payload", empty.substr(shape::kStateHeaderBytes));
}

void summary_seeds(const fs::path& dir) {
  for (int i = 0; i < 3; ++i) {
    const auto s = shape::summarize("fn-" + std::to_string(i), learned_model(0.3 * i, 1 + i), 1 + i, 7 + i);
    const std::string bytes = shape::encode(s);
    write(dir, "summary_" + std::to_string(i), bytes.substr(1, bytes.size() - 5));  // body only
    write(dir, "summary_" + std::to_string(i) + "_framed", bytes);
  }
}

// Wire version 2 (common/gossip/message.h): a probe, rumours, and a push of records.
void wire_seeds(const fs::path& dir) {
  gossip::Message ping;
  ping.type = wire::MessageType::Ping;
  ping.from = gossip::Sender{"node-a", 3, "tcp://127.0.0.1:7946", ""};
  ping.seq = 77;
  ping.members = {{0x1234, 1, 4, gossip::PeerState::Suspect, 0x5678}};
  write(dir, "ping", gossip::encode(ping));

  gossip::Message news = ping;
  news.type = wire::MessageType::News;
  for (uint64_t i = 0; i < 3; ++i) news.news.push_back({0x1234 + i, static_cast<uint32_t>(10 * i)});
  write(dir, "news", gossip::encode(news));

  const gossip::RecordDraft node{.kind = gossip::RecordKind::Node, .key = "node-b",
                                 .author_fp = gossip::fingerprint("node-b"), .generation = 2, .version = 12,
                                 .node = gossip::NodeBody{"tcp://127.0.0.1:7947", 8, "", "", false}};
  const gossip::RecordDraft fn{.kind = gossip::RecordKind::Function, .key = "web",
                               .author_fp = gossip::fingerprint("node-b"), .generation = 2, .version = 5,
                               .payload = shape::encode(shape::summarize("web", learned_model(0.0, 1), 1, 11))};
  gossip::Message push = ping;
  push.type = wire::MessageType::Push;
  push.members.clear();
  push.records = {gossip::share(node), gossip::share(fn)};
  write(dir, "push", gossip::encode(push));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-root>   (e.g. tests/fuzz/corpus)\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  state_seeds(root / "fuzz_state_load");
  summary_seeds(root / "fuzz_summary_decode");
  wire_seeds(root / "fuzz_wire_decode");
  return 0;
}
