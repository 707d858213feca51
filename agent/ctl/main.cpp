// antiphasectl: talks to the local agent over its Unix socket.
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agent/ctl/api_client.h"
#include "agent/ctl/charts.h"
#include "agent/ctl/tables.h"
#include "agent/gossip/curve_keys.h"

using nlohmann::json;
using namespace antiphase::ctl;

namespace {

constexpr int kExitOk = 0, kExitRejected = 1, kExitError = 2;

struct Options {
  std::string socket = "/run/antiphase/api.sock";
  bool json_out = false;
};

// Prints an error reply ({"error", "detail"} or raw text) on stderr.
void print_error_reply(const ApiReply& reply) {
  const json parsed = json::parse(reply.body, nullptr, false);
  if (!parsed.is_discarded() && parsed.is_object() && parsed.contains("error"))
    std::cerr << "antiphasectl: " << parsed["error"].get<std::string>() << " (HTTP " << reply.status
              << "): " << parsed.value("detail", "") << "\n";
  else
    std::cerr << "antiphasectl: HTTP " << reply.status << ": " << reply.body << "\n";
}

// Calls the agent; prints the error and returns nullopt on failure.
std::optional<json> call(const Options& o, const std::string& method, const std::string& path, const std::string& body = "") {
  const ApiReply reply = api_call(o.socket, method, path, body);
  if (reply.status >= 400) {
    print_error_reply(reply);
    return std::nullopt;
  }
  json parsed = json::parse(reply.body, nullptr, false);
  if (parsed.is_discarded()) {
    std::cerr << "antiphasectl: the agent sent something that is not JSON\n";
    return std::nullopt;
  }
  return parsed;
}

int cmd_functions(const Options& o) {
  auto r = call(o, "GET", "/v1/functions");
  if (!r) return kExitError;
  if (o.json_out) {
    std::cout << r->dump(2) << "\n";
    return kExitOk;
  }
  std::cout << functions_table(*r);
  return kExitOk;
}

void draw_profile(const std::string& title, const json& p) {
  const auto mean = p["mean"].get<std::vector<double>>();
  const auto peak = p["peak"].get<std::vector<double>>();
  double top = 0;
  for (double v : peak) top = std::max(top, v);
  std::cout << title << " (UTC; full height = " << fixed(top) << " cores)\n";
  std::cout << "  peak " << sparkline(peak, top) << "\n";
  std::cout << "  mean " << sparkline(mean, top) << "\n";
  std::cout << "       " << time_axis(mean.size(), p["period_s"].get<unsigned>()) << "\n";
}

int cmd_shape(const Options& o, const std::string& name) {
  auto r = call(o, "GET", "/v1/functions/" + name);
  if (!r) return kExitError;
  if (o.json_out) {
    std::cout << r->dump(2) << "\n";
    return kExitOk;
  }
  if (!r->contains("shape")) {
    std::cout << name << ": running, no shape learned yet\n";
    return kExitOk;
  }
  const auto& s = (*r)["shape"];
  std::cout << name << ": mean " << fixed(s["mean"].get<double>()) << " cores, peak " << fixed(s["peak"].get<double>())
            << ", confidence " << fixed(s["confidence"].get<double>()) << " (" << fixed(s["history_s"].get<double>() / 3600, 1)
            << " h of history)\n";
  const auto& c = (*r)["correlation_with_host"];
  std::cout << "correlation with host aggregate: " << fixed(c["rho"].get<double>()) << " ± " << fixed(c["bound"].get<double>()) << "\n\n";
  draw_profile("time of day", s["day"]);
  std::cout << "\n";
  draw_profile("minute of hour", s["hour"]);
  if (!(*r)["most_anticorrelated"].empty()) {
    std::cout << "\nmost anticorrelated local functions:\n";
    for (const auto& a : (*r)["most_anticorrelated"])
      std::cout << "  " << std::left << std::setw(32) << a["name"].get<std::string>() << " rho " << fixed(a["rho"].get<double>()) << "\n";
  }
  return kExitOk;
}

void print_decision(const json& d) {
  std::cout << (d["accept"].get<bool>() ? "ACCEPT " : "REJECT ") << d["function"].get<std::string>() << " x"
            << d["instances"].get<unsigned>() << "\n";
  for (const char* key : {"binding_window", "projected_peak_cores", "limit_cores", "capacity_cores", "headroom_cores",
                          "peaks_fit_cores", "bound_by", "correlation", "anticorrelation_saving_cores", "confidence", "z"}) {
    if (!d.contains(key) || d[key].is_null()) continue;
    const json& v = d[key];
    std::string text = v.is_number() ? fixed(v.get<double>()) : v.is_string() ? v.get<std::string>() : v.dump();
    if (v.is_object() && v.contains("rho"))  // {"rho", "bound", "used"}
      text = fixed(v["rho"].get<double>()) + " ± " + fixed(v["bound"].get<double>()) + " (assumed " +
             fixed(v.value("used", v["rho"].get<double>())) + ")";
    std::cout << "  " << std::left << std::setw(30) << key << text << "\n";
  }
  for (const auto& reason : d["reasons"]) std::cout << "  - " << reason.get<std::string>() << "\n";
}

// The size a caller declares for a candidate; unset fields are left to the agent.
struct DeclaredSize {
  std::optional<double> mean_cores, peak_cores;
  std::optional<uint64_t> memory_bytes;  // per instance, the sandbox's memory limit
};

json admit_request(const std::string& fn, unsigned instances, const DeclaredSize& size) {
  json body = {{"function", fn}, {"instances", instances}};
  if (size.mean_cores) body["mean_cores"] = *size.mean_cores;
  if (size.peak_cores) body["peak_cores"] = *size.peak_cores;
  if (size.memory_bytes) body["memory_bytes"] = *size.memory_bytes;
  return body;
}

// --memory on admit/place/rank: a size such as 512MiB, 2G or plain bytes (k = 1024).
void add_memory_option(CLI::App* command, std::optional<uint64_t>& memory_bytes) {
  command->add_option("--memory", memory_bytes, "Memory limit per instance, e.g. 512MiB (else the learned peak)")
      ->transform(CLI::AsSizeValue(false));
}

int cmd_admit(const Options& o, const json& body) {
  auto r = call(o, "POST", "/v1/admit", body.dump());
  if (!r) return kExitError;
  if (o.json_out) std::cout << r->dump(2) << "\n";
  else print_decision(*r);
  return (*r)["accept"].get<bool>() ? kExitOk : kExitRejected;
}

int cmd_rank(const Options& o, const std::vector<std::string>& fns, unsigned instances, const DeclaredSize& size) {
  json candidates = json::array();
  for (const auto& f : fns) candidates.push_back(admit_request(f, instances, size));
  auto r = call(o, "POST", "/v1/rank", json{{"candidates", candidates}}.dump());
  if (!r) return kExitError;
  if (o.json_out) {
    std::cout << r->dump(2) << "\n";
    return kExitOk;
  }
  std::vector<std::string> names;
  for (const auto& d : (*r)["ranking"]) names.push_back(d["function"].get<std::string>());
  const int width = static_cast<int>(column_width(names, 32));
  int i = 1;
  for (const auto& d : (*r)["ranking"])
    std::printf("%2d. %-*s %-6s headroom %8s cores\n", i++, width, d["function"].get<std::string>().c_str(),
                d["accept"].get<bool>() ? "fits" : "no", fixed(d["headroom_cores"].get<double>()).c_str());
  return kExitOk;
}

// How long a highest use counts here, and why (docs/admission.md "What never forgetting costs").
std::string highest_window_line(const json& w) {
  const double hours = w["window_s"].get<double>() / 3600;
  if (!(hours > 0)) return "highest uses count for good (shape.highest_window = 0)";
  const std::string window = fixed(hours, hours == std::floor(hours) ? 0 : 1) + " h";
  if (w["applies"].get<bool>()) return "highest uses count " + window + " (relief was acted upon, or the window needs none)";
  return "highest uses count for good until relief is acted upon, then " + window;
}

int cmd_host(const Options& o) {
  auto r = call(o, "GET", "/v1/host");
  if (!r) return kExitError;
  if (o.json_out) {
    std::cout << r->dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "capacity " << fixed((*r)["capacity_cores"].get<double>()) << " cores, using "
            << fixed((*r)["current_cores"].get<double>()) << ", target utilisation " << fixed((*r)["target_utilisation"].get<double>())
            << "\nmargin z " << fixed((*r)["calibrated_z"].get<double>()) << " (target overload rate "
            << (*r)["target_overload_rate"].get<double>() << ", observed " << (*r)["observed_overload_rate"].get<double>() << ")\n";
  if (r->contains("relief") && (*r)["relief"].is_object())
    std::cout << "relief: " << (*r)["relief"]["explanation"].get<std::string>() << "\n";
  if (r->contains("highest_window")) std::cout << highest_window_line((*r)["highest_window"]) << "\n";
  std::cout << "\n";
  draw_profile("host aggregate, time of day", (*r)["aggregate"]["day"]);
  return kExitOk;
}

int cmd_peers(const Options& o) {
  auto r = call(o, "GET", "/v1/peers");
  if (!r) return kExitError;
  if (o.json_out) {
    std::cout << r->dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "this node: " << (*r)["node_id"].get<std::string>() << "\n";
  std::vector<std::string> names;
  for (const auto& p : (*r)["peers"]) names.push_back(p["node_id"].get<std::string>());
  const int width = static_cast<int>(column_width(names, 24));
  std::printf("%-*s %-8s %10s %6s %8s  %s\n", width, "NODE", "STATE", "HEARD", "GEN", "CORES", "ENDPOINT");
  for (const auto& p : (*r)["peers"])
    std::printf("%-*s %-8s %9ss %6llu %8s  %s\n", width, p["node_id"].get<std::string>().c_str(), p["state"].get<std::string>().c_str(),
                fixed(p["last_heard_s_ago"].get<double>(), 1).c_str(),
                static_cast<unsigned long long>(p["generation"].get<uint64_t>()), fixed(p["capacity_cores"].get<double>(), 1).c_str(),
                p["endpoint"].get<std::string>().c_str());
  return kExitOk;
}

int cmd_place(const Options& o, const json& body) {
  auto r = call(o, "POST", "/v1/place", body.dump());
  if (!r) return kExitError;
  if (o.json_out) {
    std::cout << r->dump(2) << "\n";
    return kExitOk;
  }
  std::vector<std::string> names;
  for (const auto& h : (*r)["hosts"]) names.push_back(h["node_id"].get<std::string>());
  const int width = static_cast<int>(column_width(names, 24));
  int i = 1;
  for (const auto& h : (*r)["hosts"]) {
    const auto& d = h["decision"];
    std::printf("%2d. %-*s %-6s headroom %8s cores%s\n", i++, width, h["node_id"].get<std::string>().c_str(),
                d["accept"].get<bool>() ? "fits" : "no", fixed(d["headroom_cores"].get<double>()).c_str(),
                h["local"].get<bool>() ? "  (this host)" : "");
  }
  return kExitOk;
}

int cmd_keygen(const std::string& prefix) {
  const auto pair = antiphase::agent::gossip::generate_keypair_files(prefix + ".pub", prefix + ".key");
  std::cout << "wrote " << prefix << ".pub (share it: copy into each peer's gossip.allowed_keys_dir)\n"
            << "wrote " << prefix << ".key (mode 0600: set gossip.secret_key_file)\n"
            << "public key: " << antiphase::agent::gossip::z85_encode_key(pair.public_key) << "\n";
  return kExitOk;
}

// /v1/stats, indented for people (pipe it to jq for a field).
int cmd_stats(const Options& o) {
  auto r = call(o, "GET", "/v1/stats");
  if (!r) return kExitError;
  std::cout << r->dump(2) << "\n";
  return kExitOk;
}

// /metrics as the agent exports it; an error goes to stderr, never into a scrape file.
int cmd_metrics(const Options& o) {
  const ApiReply reply = api_call(o.socket, "GET", "/metrics");
  if (reply.status >= 400) {
    print_error_reply(reply);
    return kExitError;
  }
  std::cout << reply.body;
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"antiphasectl: query the local antiphase agent"};
  app.require_subcommand(1);
  // --socket and --json also work after the subcommand (`antiphasectl functions --json`).
  app.fallthrough();
  app.set_version_flag("-V,--version", "antiphasectl " ANTIPHASE_VERSION);
  Options o;
  app.add_option("-s,--socket", o.socket, "Agent API socket")->envname("ANTIPHASE_SOCKET")->capture_default_str();
  app.add_flag("--json", o.json_out, "Print the agent's JSON instead of a table");

  auto* functions = app.add_subcommand("functions", "Per-function CPU, sorted by usage (like top)");
  std::string shape_name;
  auto* shape = app.add_subcommand("shape", "Draw a function's time-of-day and minute-of-hour profiles");
  shape->add_option("function", shape_name)->required();
  std::string admit_fn;
  unsigned instances = 1;
  DeclaredSize size;
  auto* admit = app.add_subcommand("admit", "May FUNCTION join this host? Exit 0 accept, 1 reject, 2 error");
  admit->add_option("function", admit_fn)->required();
  admit->add_option("-n,--instances", instances, "Instances to add")->check(CLI::PositiveNumber);
  admit->add_option("--mean-cores", size.mean_cores, "Size of a function this host has not seen: mean cores");
  admit->add_option("--peak-cores", size.peak_cores, "Size of a function this host has not seen: peak cores");
  add_memory_option(admit, size.memory_bytes);
  std::vector<std::string> rank_fns;
  auto* rank = app.add_subcommand("rank", "Order candidate functions by how well they fit this host");
  rank->add_option("functions", rank_fns)->required();
  rank->add_option("-n,--instances", instances, "Instances of each");
  add_memory_option(rank, size.memory_bytes);
  std::string place_fn;
  auto* place = app.add_subcommand("place", "Rank this host and its live peers for FUNCTION");
  place->add_option("function", place_fn)->required();
  place->add_option("-n,--instances", instances, "Instances to place");
  place->add_option("--mean-cores", size.mean_cores, "Size of a function nobody has seen: mean cores");
  place->add_option("--peak-cores", size.peak_cores, "Size of a function nobody has seen: peak cores");
  add_memory_option(place, size.memory_bytes);
  auto* peers = app.add_subcommand("peers", "Gossip members with state, last heard and generation");
  std::string key_prefix = "antiphase";
  auto* keygen = app.add_subcommand("keygen", "Write a CurveZMQ keypair: PREFIX.pub and PREFIX.key (0600)");
  keygen->add_option("prefix", key_prefix, "Path prefix of the key files")->capture_default_str();
  auto* host = app.add_subcommand("host", "Capacity, aggregate profile and calibrated margin");
  auto* stats = app.add_subcommand("stats", "Debug statistics (sampler, feature probes, counters, memory)");
  auto* metrics = app.add_subcommand("metrics", "Prometheus metrics as the agent exports them");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Usage errors exit 2 like every other error (1 means "rejected" for admit);
    // --help and --version exit 0.
    return app.exit(e) == 0 ? kExitOk : kExitError;
  }

  try {
    if (*functions) return cmd_functions(o);
    if (*shape) return cmd_shape(o, shape_name);
    if (*admit) return cmd_admit(o, admit_request(admit_fn, instances, size));
    if (*rank) return cmd_rank(o, rank_fns, instances, size);
    if (*host) return cmd_host(o);
    if (*place) return cmd_place(o, admit_request(place_fn, instances, size));
    if (*peers) return cmd_peers(o);
    if (*keygen) return cmd_keygen(key_prefix);
    if (*stats) return cmd_stats(o);
    if (*metrics) return cmd_metrics(o);
  } catch (const std::exception& e) {
    std::cerr << "antiphasectl: " << e.what() << "\n";
    return kExitError;
  }
  return kExitError;
}
