// A single GossipAgent as a process, for the loopback tests (and manual poking).
// Flags configure the agent; commands arrive one per line on stdin, answers go to stdout:
//   publish <function> <summary>    -> "ok" | "refused"
//   get <function>                  -> "summary <function> <value>" | "missing <function>"
//   peers                           -> "peer <id> <state> <generation> <max_version> <endpoint>" ... "end"
//   stats                           -> "stats key=value ..."
//   state <capacity> <host_summary> -> "ok"
//   quit                            -> graceful leave, exit 0 (EOF does the same)
// `gossip_node --keygen <dir>/<name>` writes <name>.key and <name>.key_secret and exits.
#include <CLI/CLI.hpp>
#include <iostream>
#include <sstream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "agent/gossip/curve_keys.h"
#include "agent/gossip/gossip_agent.h"

using namespace antiphase::agent::gossip;

namespace {

void print_stats(const Stats& s) {
  std::cout << "stats signing=" << (s.signing ? 1 : 0) << " generation=" << s.generation << " rounds=" << s.rounds << " msgs_in=" << s.msgs_in
            << " msgs_out=" << s.msgs_out << " bytes_in=" << s.bytes_in << " bytes_out=" << s.bytes_out
            << " dropped_malformed=" << s.dropped_malformed << " dropped_oversize=" << s.dropped_oversize
            << " refused_auth=" << s.refused_auth << " refused_identity=" << s.refused_identity << " duplicate_node_id=" << s.duplicate_node_id
            << " send_dropped=" << s.send_dropped << " peers_alive=" << s.peers_alive
            << " peers_suspect=" << s.peers_suspect << " peers_dead=" << s.peers_dead << " peers_left=" << s.peers_left
            << " purged=" << s.purged << " functions=" << s.functions << " records_applied=" << s.records_applied
            << " records_forged=" << s.records_forged << " records_stale=" << s.records_stale
            << " probes_failed=" << s.probes_failed << " suspicions=" << s.suspicions << " refutations=" << s.refutations
            << " deaths_declared=" << s.deaths_declared << " local_health=" << s.local_health << "\n";
}

void serve(GossipAgent& agent) {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string command, a, b;
    words >> command >> a >> b;
    if (command == "publish") {
      std::cout << (agent.publish_function(a, b) ? "ok" : "refused") << "\n";
    } else if (command == "get") {
      const auto summary = agent.function_summary(a);
      std::cout << (summary ? "summary " + a + " " + *summary : "missing " + a) << "\n";
    } else if (command == "peers") {
      for (const PeerInfo& peer : agent.peers())
        std::cout << "peer " << peer.node_id << " " << antiphase::gossip::to_string(peer.state) << " "
                  << peer.generation << " " << peer.max_version << " " << peer.endpoint << "\n";
      std::cout << "end\n";
    } else if (command == "stats") {
      print_stats(agent.stats());
    } else if (command == "state") {
      agent.set_node_state(NodeState{"", "", std::atof(a.c_str()), b});
      std::cout << "ok\n";
    } else if (command == "quit") {
      break;
    } else {
      std::cout << "error unknown command\n";
    }
    std::cout.flush();
  }
}

}  // namespace

int main(int argc, char** argv) {
  GossipConfig config;
  std::string keygen;
  std::string log_level = "warn";
  CLI::App app{"one antiphase gossip agent (test harness)"};
  app.add_option("--keygen", keygen, "write <path>.key and <path>.key_secret, then exit");
  app.add_option("--id", config.node_id);
  app.add_option("--bind", config.bind);
  app.add_option("--advertise", config.advertise);
  app.add_option("--seed", config.seeds);
  app.add_option("--state-dir", config.state_dir);
  app.add_option("--secret-key", config.secret_key_file);
  app.add_option("--public-key", config.public_key_file);
  app.add_option("--allowed-keys", config.allowed_keys_dir);
  app.add_flag("--insecure", config.insecure);
  app.add_option("--fanout", config.fanout);
  app.add_option("--interval", config.interval_s);
  app.add_option("--suspect", config.suspect_after_s);
  app.add_option("--dead", config.dead_after_s);
  app.add_option("--purge", config.purge_after_s);
  app.add_option("--max-message-bytes", config.max_message_bytes);
  app.add_option("--log-level", log_level);
  CLI11_PARSE(app, argc, argv);
  // stdout is the command channel: logs go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("stderr"));
  spdlog::set_level(spdlog::level::from_str(log_level));

  try {
    if (!keygen.empty()) {
      const CurveKeypair keys = generate_keypair_files(keygen + ".key", keygen + ".key_secret");
      std::cout << z85_encode_key(keys.public_key) << "\n";
      return 0;
    }
    GossipAgent agent(config);
    agent.start();
    std::cout << "ready " << agent.node_id() << " " << agent.stats().generation << " " << agent.public_key_z85() << "\n";
    std::cout.flush();
    serve(agent);
    agent.stop();
  } catch (const std::exception& error) {
    std::cerr << "gossip_node: " << error.what() << "\n";
    std::cout << "error " << error.what() << "\n";
    return 2;
  }
  return 0;
}
