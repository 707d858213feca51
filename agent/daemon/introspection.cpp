// /v1/stats (debug) and /metrics (Prometheus text format).
#include <fstream>
#include <sstream>

#include "agent/daemon/agent.h"
#include "agent/daemon/prometheus_number.h"
#include "agent/features/feature_probe.h"

namespace antiphase::agent {

using nlohmann::json;

namespace {

// VmRSS and VmHWM from /proc/self/status, in bytes.
std::pair<uint64_t, uint64_t> resident_memory() {
  std::ifstream in("/proc/self/status");
  std::string key;
  uint64_t rss = 0, hwm = 0, kb = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    f >> key >> kb;
    if (key == "VmRSS:") rss = kb * 1024;
    if (key == "VmHWM:") hwm = kb * 1024;
  }
  return {rss, hwm};
}

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// Writes HELP/TYPE once per family, then samples.
class PromWriter {
 public:
  void family(const std::string& name, const std::string& type, const std::string& help) {
    out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }
  void sample(const std::string& name, double v, const std::string& labels = "") {
    out_ << name;
    if (!labels.empty()) out_ << '{' << labels << '}';
    out_ << ' ' << prometheus_number(v) << '\n';
  }
  void single(const std::string& name, const std::string& type, const std::string& help, double v) {
    family(name, type, help);
    sample(name, v);
  }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

}  // namespace

// Reads that threw, plus single cgroups the sampler could not read although they exist.
uint64_t Agent::sampler_errors() const {
  return counters_.sampler_errors + feed_view_.sampler_read_errors;
}

json Agent::stats_json() const {
  const auto [rss, hwm] = resident_memory();
  std::lock_guard lock(mu_);
  const auto api = api_ ? api_->counters() : HttpServerCounters{};
  json features = json::array();
  for (const auto& f : feed_view_.features) features.push_back({{"name", f.name}, {"available", f.available}, {"detail", f.detail}});
  json sampler_stats = json::object();
  for (const auto& [k, v] : feed_view_.sampler_stats) sampler_stats[k] = v;
  return {{"version", ANTIPHASE_VERSION},
          {"uptime_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count()},
          {"sampler", {{"mode", feed_view_.mode}, {"reason", feed_view_.reason}, {"stats", sampler_stats}}},
          {"features", features},
          {"cgroup2_mount", feed_view_.cgroup2_mount},
          {"cgroup_roots", feed_view_.roots},
          {"missing_roots", feed_view_.missing_roots},
          {"watched_cgroups", feed_view_.watched_cgroups},
          {"memory_source", {{"hierarchy", feed_view_.memory_source}, {"reason", feed_view_.memory_reason}}},
          {"ticks", {{"count", counters_.ticks}, {"late", counters_.ticks_late}, {"last_lag_ms", counters_.last_tick_lag_ms},
                     {"last_work_ms", counters_.last_tick_work_ms}, {"rescans", counters_.rescans}, {"sampler_errors", sampler_errors()}}},
          {"functions", {{"running", usage_.functions().size()}, {"shapes", core_.models().size()},
                         {"heard", core_.functions_heard()}, {"heard_forgotten", core_.heard_forgotten()}}},
          {"newcomers", {{"watched", core_.newcomers().watched()}, {"samples", core_.newcomers().samples()},
                         {"request_factor", core_.newcomers().factor()}}},
          {"decisions", {{"accept", counters_.decisions_accept}, {"reject", counters_.decisions_reject}, {"error", counters_.decisions_error}}},
          {"state", {{"path", state_path()}, {"saves", counters_.state_saves}, {"save_errors", counters_.state_save_errors}}},
          {"api", {{"requests", api.requests}, {"rejected_peer", api.rejected_peer}, {"oversize", api.oversize}}},
          {"memory", {{"rss_bytes", rss}, {"peak_rss_bytes", hwm}}},
          {"gossip", gossip_ ? gossip_->stats_json() : json{{"enabled", false}}}};
}

std::string Agent::metrics_text() const {
  const auto [rss, hwm] = resident_memory();
  std::lock_guard lock(mu_);
  const auto api = api_ ? api_->counters() : HttpServerCounters{};
  PromWriter w;
  w.family("antiphase_function_cpu_cores", "gauge", "CPU used by a function over the last tick, in cores.");
  for (const auto& [name, fn] : usage_.functions())
    w.sample("antiphase_function_cpu_cores", fn.last_tick_cores, "function=\"" + escape_label(name) + "\"");
  w.family("antiphase_function_instances", "gauge", "Cgroups (instances) of a function on this host.");
  for (const auto& [name, fn] : usage_.functions())
    w.sample("antiphase_function_instances", fn.instances, "function=\"" + escape_label(name) + "\"");
  w.family("antiphase_function_memory_bytes", "gauge", "Memory a function uses now, summed over its instances.");
  w.family("antiphase_function_memory_peak_bytes", "gauge", "Sum of a function's instances' peak memory.");
  w.family("antiphase_function_memory_limit_bytes", "gauge", "Sum of a function's instances' memory limits.");
  for (const auto& [name, fn] : usage_.functions()) {
    if (!fn.memory) continue;
    const std::string label = "function=\"" + escape_label(name) + "\"";
    w.sample("antiphase_function_memory_bytes", static_cast<double>(fn.memory->current_bytes), label);
    w.sample("antiphase_function_memory_peak_bytes", static_cast<double>(fn.memory->peak_bytes), label);
    if (fn.memory->limit_bytes) w.sample("antiphase_function_memory_limit_bytes", static_cast<double>(*fn.memory->limit_bytes), label);
  }
  const double total = usage_.total_cores();
  w.single("antiphase_host_tenant_cpu_cores", "gauge", "CPU used by all functions over the last tick, in cores.", total);
  w.single("antiphase_host_capacity_cores", "gauge", "Cores available to tenants.", core_.capacity_cores());
  w.single("antiphase_host_over_capacity_seconds", "gauge", "Unbroken time the host has been measured above its capacity.",
           core_.over_capacity_s());
  w.single("antiphase_relief_suggested", "gauge", "1 while the host names a tenant to move (GET /v1/host \"relief\").",
           core_.relief() ? 1.0 : 0.0);
  w.single("antiphase_highest_window_applies", "gauge",
           "1 once highest uses older than shape.highest_window are forgotten (GET /v1/host \"highest_window\").",
           core_.host_model().forgets() ? 1.0 : 0.0);
  w.single("antiphase_admission_margin_z", "gauge", "Calibrated safety margin (standard deviations).", core_.calibrator().z());
  w.single("antiphase_admission_target_overload_ratio", "gauge", "Configured target fraction of host-time above the prediction.",
           core_.config().policy.target_overload_rate);  // not the calibrator's: at 0 it keeps its default
  w.single("antiphase_admission_observed_overload_ratio", "gauge", "Observed fraction of ticks above the host's own prediction.",
           core_.calibrator().observed_rate());
  w.family("antiphase_admission_decisions_total", "counter", "Admission decisions by outcome.");
  w.sample("antiphase_admission_decisions_total", static_cast<double>(counters_.decisions_accept), "decision=\"accept\"");
  w.sample("antiphase_admission_decisions_total", static_cast<double>(counters_.decisions_reject), "decision=\"reject\"");
  w.sample("antiphase_admission_decisions_total", static_cast<double>(counters_.decisions_error), "decision=\"error\"");
  w.single("antiphase_functions_tracked", "gauge", "Functions with a learned shape.", static_cast<double>(core_.models().size()));
  w.single("antiphase_watched_cgroups", "gauge", "Cgroups measured.", static_cast<double>(feed_view_.watched_cgroups));
  w.single("antiphase_ticks_total", "counter", "Sampler ticks.", static_cast<double>(counters_.ticks));
  w.single("antiphase_ticks_late_total", "counter", "Ticks that started more than half a tick late.", static_cast<double>(counters_.ticks_late));
  w.single("antiphase_tick_lag_seconds", "gauge", "How late the last tick started.", counters_.last_tick_lag_ms / 1000);
  w.single("antiphase_tick_duration_seconds", "gauge", "Time the last tick took.", counters_.last_tick_work_ms / 1000);
  w.single("antiphase_sampler_errors_total", "counter", "Failed sampler reads.", static_cast<double>(sampler_errors()));
  w.single("antiphase_state_saves_total", "counter", "Successful state saves.", static_cast<double>(counters_.state_saves));
  w.single("antiphase_state_save_errors_total", "counter", "Failed state saves.", static_cast<double>(counters_.state_save_errors));
  w.single("antiphase_api_requests_total", "counter", "API requests served.", static_cast<double>(api.requests));
  w.single("antiphase_api_rejected_peers_total", "counter", "API connections refused by the SO_PEERCRED policy.",
           static_cast<double>(api.rejected_peer));
  if (gossip_) {
    const auto g = gossip_->stats();
    w.single("antiphase_gossip_rounds_total", "counter", "Gossip rounds started.", static_cast<double>(g.rounds));
    w.family("antiphase_gossip_messages_total", "counter", "Gossip messages by direction.");
    w.sample("antiphase_gossip_messages_total", static_cast<double>(g.msgs_in), "direction=\"in\"");
    w.sample("antiphase_gossip_messages_total", static_cast<double>(g.msgs_out), "direction=\"out\"");
    w.family("antiphase_gossip_bytes_total", "counter", "Gossip bytes by direction.");
    w.sample("antiphase_gossip_bytes_total", static_cast<double>(g.bytes_in), "direction=\"in\"");
    w.sample("antiphase_gossip_bytes_total", static_cast<double>(g.bytes_out), "direction=\"out\"");
    w.family("antiphase_gossip_dropped_total", "counter", "Gossip messages dropped or refused, by reason.");
    w.sample("antiphase_gossip_dropped_total", static_cast<double>(g.dropped_malformed), "reason=\"malformed\"");
    w.sample("antiphase_gossip_dropped_total", static_cast<double>(g.dropped_oversize), "reason=\"oversize\"");
    w.sample("antiphase_gossip_dropped_total", static_cast<double>(g.refused_auth), "reason=\"unauthenticated\"");
    w.sample("antiphase_gossip_dropped_total", static_cast<double>(g.refused_identity), "reason=\"identity\"");
    w.family("antiphase_gossip_peers", "gauge", "Known peers by membership state.");
    w.sample("antiphase_gossip_peers", static_cast<double>(g.peers_alive), "state=\"alive\"");
    w.sample("antiphase_gossip_peers", static_cast<double>(g.peers_suspect), "state=\"suspect\"");
    w.sample("antiphase_gossip_peers", static_cast<double>(g.peers_dead), "state=\"dead\"");
    w.sample("antiphase_gossip_peers", static_cast<double>(g.peers_left), "state=\"left\"");
    w.single("antiphase_gossip_functions_known", "gauge", "Function summaries this agent keeps.", static_cast<double>(g.functions));
    w.single("antiphase_gossip_caught_up", "gauge",
             "1 once the replica caught up with the fleet after start; until then no function summary is published.",
             g.caught_up ? 1.0 : 0.0);
    w.single("antiphase_gossip_pulls_given_up_total", "counter",
             "Records this agent pulled three times in vain; the next anti-entropy comparison finds them again.",
             static_cast<double>(g.pulls_given_up));
    w.single("antiphase_gossip_state_bytes", "gauge", "Memory of this agent's gossip replica (records and tables).",
             static_cast<double>(g.state_bytes));
    w.single("antiphase_gossip_interest_pulls_total", "counter",
             "Function summaries pulled from their homes because this agent runs or was asked about them.",
             static_cast<double>(g.interest_pulls));
    w.family("antiphase_gossip_records_total", "counter", "Peer records by what became of them.");
    w.sample("antiphase_gossip_records_total", static_cast<double>(g.records_applied), "outcome=\"applied\"");
    w.sample("antiphase_gossip_records_total", static_cast<double>(g.records_forged), "outcome=\"forged\"");
    w.sample("antiphase_gossip_records_total", static_cast<double>(g.records_stale), "outcome=\"stale\"");
    w.sample("antiphase_gossip_records_total", static_cast<double>(g.records_unverifiable), "outcome=\"unverifiable\"");
    w.single("antiphase_gossip_deaths_declared_total", "counter", "Members this agent declared dead (SWIM).",
             static_cast<double>(g.deaths_declared));
    w.single("antiphase_gossip_local_health", "gauge", "Lifeguard local health: 0 healthy; probing slows when above.",
             static_cast<double>(g.local_health));
  }
  w.single("antiphase_resident_memory_bytes", "gauge", "Resident set size of the agent.", static_cast<double>(rss));
  w.single("antiphase_resident_memory_peak_bytes", "gauge", "Peak resident set size of the agent.", static_cast<double>(hwm));
  return w.str();
}

}  // namespace antiphase::agent
