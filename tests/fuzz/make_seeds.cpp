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

void wire_seeds(const fs::path& dir) {
  wire::Gossip syn;
  syn.mutable_from()->set_node_id("node-a");
  syn.mutable_from()->set_endpoint("tcp://127.0.0.1:7946");
  syn.mutable_from()->set_generation(3);
  for (uint64_t i = 0; i < 3; ++i) {
    syn.mutable_digest()->add_origins(0x1234 + i);
    syn.mutable_digest()->add_generations(1);
    syn.mutable_digest()->add_max_versions(10 * i);
  }
  write(dir, "syn", wire::encode(wire::MessageType::Syn, syn));

  wire::Gossip ack = syn;
  auto* delta = ack.add_deltas();
  delta->set_origin("node-b");
  delta->set_generation(2);
  delta->set_max_version(12);
  delta->mutable_node()->set_version(12);
  delta->mutable_node()->set_capacity_cores(8);
  auto* fn = delta->add_functions();
  fn->set_version(11);
  fn->set_function("web");
  fn->set_summary(shape::encode(shape::summarize("web", learned_model(0.0, 1), 1, 11)));
  fn->set_lamport(5);
  write(dir, "ack", wire::encode(wire::MessageType::Ack, ack));
  write(dir, "leave", wire::encode(wire::MessageType::Leave, wire::Gossip{}));
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
