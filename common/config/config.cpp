#include "common/config/config.h"

#include <charconv>
#include <functional>
#include <map>
#include <sstream>

#define TOML_EXCEPTIONS 1
#include <toml++/toml.h>

namespace antiphase::config {

namespace {

uint32_t line_of(const toml::node& n) { return n.source().begin.line; }

[[noreturn]] void fail(const std::string& source, const std::string& key, uint32_t line,
                       const std::string& message) {
  std::ostringstream os;
  os << source << ":" << line << ": " << key << ": " << message;
  throw ConfigError(key, line, os.str());
}

// One key of the schema: how to read a TOML node into the Config.
using Apply = std::function<void(Config&, const toml::node&, const std::string& src, const std::string& key)>;

template <typename T>
T require_value(const toml::node& n, const std::string& src, const std::string& key, const char* type) {
  if constexpr (std::is_same_v<T, double>) {
    if (auto v = n.value<double>()) return *v;  // integers convert too
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (n.is_integer()) return *n.value<int64_t>();
  } else {
    if (auto v = n.value_exact<T>()) return *v;
  }
  fail(src, key, line_of(n), std::string("expected ") + type + ", got " + std::string(toml::impl::node_type_friendly_names[static_cast<int>(n.type())]));
}

Apply string_key(std::string Config::*, std::string) = delete;

template <typename Section>
Apply str(Section Config::*section, std::string Section::*field) {
  return [=](Config& c, const toml::node& n, const std::string& src, const std::string& key) {
    c.*section.*field = require_value<std::string>(n, src, key, "a string");
  };
}

template <typename Section>
Apply boolean(Section Config::*section, bool Section::*field) {
  return [=](Config& c, const toml::node& n, const std::string& src, const std::string& key) {
    c.*section.*field = require_value<bool>(n, src, key, "a boolean");
  };
}

template <typename Section>
Apply number(Section Config::*section, double Section::*field, double lo, double hi) {
  return [=](Config& c, const toml::node& n, const std::string& src, const std::string& key) {
    const double v = require_value<double>(n, src, key, "a number");
    if (!(v >= lo && v <= hi)) fail(src, key, line_of(n), "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    c.*section.*field = v;
  };
}

template <typename Section>
Apply integer(Section Config::*section, uint32_t Section::*field, int64_t lo, int64_t hi) {
  return [=](Config& c, const toml::node& n, const std::string& src, const std::string& key) {
    const int64_t v = require_value<int64_t>(n, src, key, "an integer");
    if (v < lo || v > hi) fail(src, key, line_of(n), "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    c.*section.*field = static_cast<uint32_t>(v);
  };
}

// Durations accept a number of seconds or a string with a unit ("500ms", "5m").
template <typename Section>
Apply duration(Section Config::*section, double Section::*field, double lo_s, double hi_s) {
  return [=](Config& c, const toml::node& n, const std::string& src, const std::string& key) {
    std::optional<double> v;
    if (n.is_number()) v = *n.value<double>();
    else if (n.is_string()) v = parse_duration_s(*n.value<std::string>());
    else fail(src, key, line_of(n), "expected a duration such as \"1s\", \"500ms\" or a number of seconds");
    if (!v) fail(src, key, line_of(n), "not a duration: use e.g. \"1s\", \"500ms\", \"5m\", \"2h\"");
    if (!(*v >= lo_s && *v <= hi_s)) fail(src, key, line_of(n), "must be between " + std::to_string(lo_s) + " s and " + std::to_string(hi_s) + " s");
    c.*section.*field = *v;
  };
}

// Byte sizes accept an integer number of bytes or a string with a unit ("512MiB").
template <typename Section>
Apply byte_size(Section Config::*section, uint64_t Section::*field) {
  return [=](Config& c, const toml::node& n, const std::string& src, const std::string& key) {
    std::optional<uint64_t> v;
    if (n.is_integer() && *n.value<int64_t>() >= 0) v = static_cast<uint64_t>(*n.value<int64_t>());
    else if (n.is_string()) v = parse_byte_size(*n.value<std::string>());
    if (!v) fail(src, key, line_of(n), "expected a size such as \"512MiB\", \"16GiB\" or a number of bytes");
    c.*section.*field = *v;
  };
}

template <typename Section>
Apply one_of(Section Config::*section, std::string Section::*field, std::vector<std::string> allowed) {
  return [=](Config& c, const toml::node& n, const std::string& src, const std::string& key) {
    auto v = require_value<std::string>(n, src, key, "a string");
    for (const auto& a : allowed)
      if (a == v) { c.*section.*field = v; return; }
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : " | ") + a;
    fail(src, key, line_of(n), "\"" + v + "\" is not one of " + list);
  };
}

template <typename Section>
Apply string_list(Section Config::*section, std::vector<std::string> Section::*field) {
  return [=](Config& c, const toml::node& n, const std::string& src, const std::string& key) {
    const auto* arr = n.as_array();
    if (!arr) fail(src, key, line_of(n), "expected an array of strings");
    std::vector<std::string> out;
    for (const auto& e : *arr) out.push_back(require_value<std::string>(e, src, key, "a string"));
    c.*section.*field = std::move(out);
  };
}

template <typename Section>
Apply uint_list(Section Config::*section, std::vector<uint32_t> Section::*field) {
  return [=](Config& c, const toml::node& n, const std::string& src, const std::string& key) {
    const auto* arr = n.as_array();
    if (!arr) fail(src, key, line_of(n), "expected an array of integers");
    std::vector<uint32_t> out;
    for (const auto& e : *arr) {
      const int64_t v = require_value<int64_t>(e, src, key, "an integer");
      if (v < 0 || v > UINT32_MAX) fail(src, key, line_of(e), "out of range");
      out.push_back(static_cast<uint32_t>(v));
    }
    c.*section.*field = std::move(out);
  };
}

// File modes are written as octal strings ("0660") because TOML has no octal ints
// that people remember to prefix.
Apply file_mode(uint32_t ApiConfig::*field) {
  return [=](Config& c, const toml::node& n, const std::string& src, const std::string& key) {
    auto s = require_value<std::string>(n, src, key, "an octal string such as \"0660\"");
    uint32_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 8);
    if (ec != std::errc() || p != s.data() + s.size() || v > 0777) fail(src, key, line_of(n), "\"" + s + "\" is not an octal file mode such as \"0660\"");
    c.api.*field = v;
  };
}

const std::map<std::string, Apply>& schema() {
  using C = Config;
  static const std::map<std::string, Apply> keys = {
      {"sampler.mode", one_of(&C::sampler, &SamplerConfig::mode, {"auto", "sched_switch", "perf_sample", "cgroup", "replay"})},
      {"sampler.tick", duration(&C::sampler, &SamplerConfig::tick_s, 0.01, 3600)},
      {"sampler.perf_frequency", integer(&C::sampler, &SamplerConfig::perf_frequency_hz, 1, 10000)},
      {"sampler.max_cgroups", integer(&C::sampler, &SamplerConfig::max_cgroups, 16, 1 << 20)},
      {"sampler.replay_file", str(&C::sampler, &SamplerConfig::replay_file)},
      {"sampler.replay_speed", number(&C::sampler, &SamplerConfig::replay_speed, 0.001, 1e7)},
      {"sampler.replay_tenants", str(&C::sampler, &SamplerConfig::replay_tenants)},
      {"functions.preset", one_of(&C::functions, &FunctionsConfig::preset, [] {
         auto names = functions_preset_names();
         names.insert(names.begin(), "");
         return names;
       }())},
      {"functions.cgroup_roots", string_list(&C::functions, &FunctionsConfig::cgroup_roots)},
      {"functions.pattern", str(&C::functions, &FunctionsConfig::pattern)},
      {"functions.depth", integer(&C::functions, &FunctionsConfig::depth, 0, 64)},
      {"functions.rescan", duration(&C::functions, &FunctionsConfig::rescan_s, 0.01, 3600)},
      {"functions.history_ticks", integer(&C::functions, &FunctionsConfig::history_ticks, 10, 1000000)},
      {"api.socket", str(&C::api, &ApiConfig::socket)},
      {"api.socket_mode", file_mode(&ApiConfig::socket_mode)},
      {"api.socket_group", str(&C::api, &ApiConfig::socket_group)},
      {"api.max_body_bytes", integer(&C::api, &ApiConfig::max_body_bytes, 1024, 16 << 20)},
      {"api.metrics_listen", str(&C::api, &ApiConfig::metrics_listen)},
      {"api.allowed_uids", uint_list(&C::api, &ApiConfig::allowed_uids)},
      {"state.dir", str(&C::state, &StateConfig::dir)},
      {"state.save_interval", duration(&C::state, &StateConfig::save_interval_s, 1, 86400)},
      {"shape.day_slots", integer(&C::shape, &ShapeConfigKeys::day_slots, 4, 1440)},
      {"shape.hour_slots", integer(&C::shape, &ShapeConfigKeys::hour_slots, 4, 3600)},
      {"shape.k", integer(&C::shape, &ShapeConfigKeys::k, 1, 1440)},
      {"shape.hour_k", integer(&C::shape, &ShapeConfigKeys::hour_k, 1, 3600)},
      {"shape.half_life_periods", number(&C::shape, &ShapeConfigKeys::half_life_periods, 0.1, 1000)},
      {"shape.full_confidence", duration(&C::shape, &ShapeConfigKeys::full_confidence_s, 60, 365 * 86400.0)},
      {"shape.highest_window", duration(&C::shape, &ShapeConfigKeys::highest_window_s, 0, 365 * 86400.0)},
      {"shape.highest_window_after_relief", boolean(&C::shape, &ShapeConfigKeys::highest_window_after_relief)},
      {"admission.capacity_cores", number(&C::admission, &AdmissionConfig::capacity_cores, 0, 1e6)},
      {"admission.reserve_cores", number(&C::admission, &AdmissionConfig::reserve_cores, 0, 1e6)},
      {"admission.target_utilisation", number(&C::admission, &AdmissionConfig::target_utilisation, 0.01, 1.0)},
      {"admission.target_overload_rate", number(&C::admission, &AdmissionConfig::target_overload_rate, 0, 0.5)},
      {"admission.unknown_function", one_of(&C::admission, &AdmissionConfig::unknown_function, {"size_from_request", "reject"})},
      {"admission.stale_after", duration(&C::admission, &AdmissionConfig::stale_after_s, 1, 86400)},
      {"admission.min_confidence", number(&C::admission, &AdmissionConfig::min_confidence, 0, 1)},
      {"admission.max_admitted_cores", number(&C::admission, &AdmissionConfig::max_admitted_cores, 0, 1e6)},
      {"admission.memory_capacity_bytes", byte_size(&C::admission, &AdmissionConfig::memory_capacity_bytes)},
      {"admission.memory_reserve_bytes", byte_size(&C::admission, &AdmissionConfig::memory_reserve_bytes)},
      {"admission.committed_memory", one_of(&C::admission, &AdmissionConfig::committed_memory, {"limits", "peaks", "off"})},
      {"admission.memory_peak_margin", number(&C::admission, &AdmissionConfig::memory_peak_margin, 1.0, 10.0)},
      {"admission.comovement", one_of(&C::admission, &AdmissionConfig::comovement, {"learned", "host", "sketch", "fixed", "shape"})},
      {"admission.comovement_prior", number(&C::admission, &AdmissionConfig::comovement_prior, 0, 1)},
      {"admission.rule", one_of(&C::admission, &AdmissionConfig::rule, {"overload_rate", "slot_quantile"})},
      {"admission.accept_when_peaks_fit", boolean(&C::admission, &AdmissionConfig::accept_when_peaks_fit)},
      {"admission.lump_share", number(&C::admission, &AdmissionConfig::lump_share, 0, 1)},
      {"admission.newcomer_quantile", number(&C::admission, &AdmissionConfig::newcomer_quantile, 0, 1)},
      {"admission.relief_after", duration(&C::admission, &AdmissionConfig::relief_after_s, 0, 86400)},
      {"admission.tail_prior_exceedances", number(&C::admission, &AdmissionConfig::tail_prior_exceedances, 0, 1e6)},
      {"gossip.enabled", boolean(&C::gossip, &GossipConfigKeys::enabled)},
      {"gossip.node_id", str(&C::gossip, &GossipConfigKeys::node_id)},
      {"gossip.bind", str(&C::gossip, &GossipConfigKeys::bind)},
      {"gossip.advertise", str(&C::gossip, &GossipConfigKeys::advertise)},
      {"gossip.seeds", string_list(&C::gossip, &GossipConfigKeys::seeds)},
      {"gossip.fanout", integer(&C::gossip, &GossipConfigKeys::fanout, 1, 64)},
      {"gossip.interval", duration(&C::gossip, &GossipConfigKeys::interval_s, 0.01, 600)},
      {"gossip.suspect_after", duration(&C::gossip, &GossipConfigKeys::suspect_after_s, 0.05, 86400)},
      {"gossip.dead_after", duration(&C::gossip, &GossipConfigKeys::dead_after_s, 0.1, 86400)},
      {"gossip.purge_after", duration(&C::gossip, &GossipConfigKeys::purge_after_s, 0.1, 30 * 86400.0)},
      {"gossip.secret_key_file", str(&C::gossip, &GossipConfigKeys::secret_key_file)},
      {"gossip.public_key_file", str(&C::gossip, &GossipConfigKeys::public_key_file)},
      {"gossip.allowed_keys_dir", str(&C::gossip, &GossipConfigKeys::allowed_keys_dir)},
      {"gossip.insecure", boolean(&C::gossip, &GossipConfigKeys::insecure)},
      {"gossip.republish_threshold", number(&C::gossip, &GossipConfigKeys::republish_threshold, 0, 10)},
      {"gossip.republish_min_interval", duration(&C::gossip, &GossipConfigKeys::republish_min_interval_s, 0, 86400)},
      {"gossip.max_peers", integer(&C::gossip, &GossipConfigKeys::max_peers, 2, 1000000)},
      {"gossip.function_homes", integer(&C::gossip, &GossipConfigKeys::function_homes, 0, 64)},
      {"log.level", one_of(&C::log, &LogConfig::level, {"trace", "debug", "info", "warn", "error"})},
  };
  return keys;
}

bool is_section(const std::string& name) {
  const auto& keys = schema();
  auto it = keys.lower_bound(name + ".");
  return it != keys.end() && it->first.rfind(name + ".", 0) == 0;
}

void apply_table(Config& c, const toml::table& table, const std::string& prefix, const std::string& src) {
  for (const auto& [k, node] : table) {
    const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const uint32_t line = k.source().begin.line ? k.source().begin.line : line_of(node);
    if (const auto* sub = node.as_table()) {
      if (!is_section(key)) fail(src, key, line, "unknown section");
      apply_table(c, *sub, key, src);
      continue;
    }
    const auto it = schema().find(key);
    if (it == schema().end()) {
      if (prefix.empty() && is_section(key)) fail(src, key, line, "is a section; write [" + key + "]");
      fail(src, key, line, "unknown key");
    }
    it->second(c, node, src, key);
  }
}

// The cgroup layouts container runtimes and orchestrators create (docs/operations.md
// shows each, checked against real runtimes by .ci/live-runtimes).
struct FunctionsPreset {
  std::string name;
  std::vector<std::string> cgroup_roots;
  uint32_t depth;
  std::string pattern;
};

const std::vector<FunctionsPreset>& functions_presets() {
  static const std::vector<FunctionsPreset> presets = {
      // kubelet + containerd/CRI-O with the systemd cgroup driver: one function per pod
      // (UID with '_' for '-'); Guaranteed pods sit one level above the QoS slices.
      {"kubernetes", {"kubepods.slice"}, 0, R"(^kubepods-(?:burstable-|besteffort-)?pod([0-9a-f_]+)\.slice$)"},
      // The cgroupfs driver: kubepods/[burstable|besteffort/]pod<uid>/<container>.
      {"kubernetes-cgroupfs", {"kubepods"}, 0, R"(^pod([0-9a-f-]+)$)"},
      // containerd without Kubernetes (ctr, nerdctl): <namespace>/<id>; "resize-2" is
      // instance 2 of "resize".
      {"containerd", {"default"}, 1, R"(^(.+?)(-[0-9]+)?$)"},
      // Docker / podman with the systemd driver: one function per container, named by
      // the first 12 hex digits of its ID.
      {"docker", {"system.slice"}, 1, R"(^docker-([0-9a-f]{12})[0-9a-f]*\.scope$)"},
      {"podman", {"machine.slice"}, 1, R"(^libpod-([0-9a-f]{12})[0-9a-f]*\.scope$)"},
      // Containers of one workload under a shared parent slice, the layout that names a
      // function: --cgroup-parent fn-NAME.slice (docker, podman, nerdctl) or
      // cgroupsPath "fn-NAME.slice:...": fn.slice/fn-NAME.slice/<container scopes>.
      {"slices", {"fn.slice"}, 1, R"(^fn-(.+)\.slice$)"},
      // Firecracker's jailer: firecracker/<id>, "resize-3" or "resize-<uuid>" is "resize".
      {"firecracker", {"firecracker"}, 1,
       R"(^(.+?)(-[0-9]+|-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$)"},
  };
  return presets;
}

// A preset fills the layout keys still at their built-in defaults: a key the file sets
// to another value (e.g. cgroup_roots = ["k8s.io"] with "containerd") wins.
void apply_functions_preset(FunctionsConfig& f) {
  if (f.preset.empty()) return;
  const FunctionsConfig defaults;
  for (const auto& p : functions_presets()) {
    if (p.name != f.preset) continue;
    if (f.cgroup_roots == defaults.cgroup_roots) f.cgroup_roots = p.cgroup_roots;
    if (f.depth == defaults.depth) f.depth = p.depth;
    if (f.pattern == defaults.pattern) f.pattern = p.pattern;
  }
}

void check_consistency(const Config& c, const std::string& src) {
  if (c.functions.cgroup_roots.empty()) fail(src, "functions.cgroup_roots", 0, "needs at least one root");
  if (c.gossip.dead_after_s <= c.gossip.suspect_after_s)
    fail(src, "gossip.dead_after", 0, "must be longer than gossip.suspect_after");
  if (c.shape.k > c.shape.day_slots) fail(src, "shape.k", 0, "cannot exceed shape.day_slots");
  if (c.shape.hour_k > c.shape.hour_slots) fail(src, "shape.hour_k", 0, "cannot exceed shape.hour_slots");
  if (86400 % c.shape.day_slots != 0) fail(src, "shape.day_slots", 0, "must divide 86400 (a day) evenly");
  if (3600 % c.shape.hour_slots != 0) fail(src, "shape.hour_slots", 0, "must divide 3600 (an hour) evenly");
}

}  // namespace

std::vector<std::string> functions_preset_names() {
  std::vector<std::string> names;
  for (const auto& p : functions_presets()) names.push_back(p.name);
  return names;
}

std::optional<double> parse_duration_s(std::string_view text) {
  double value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || value < 0) return std::nullopt;
  const std::string_view unit(p, text.data() + text.size() - p);
  static const std::map<std::string_view, double> units = {
      {"", 1}, {"ms", 1e-3}, {"s", 1}, {"m", 60}, {"min", 60}, {"h", 3600}, {"d", 86400}};
  const auto it = units.find(unit);
  if (it == units.end()) return std::nullopt;
  return value * it->second;
}

std::optional<uint64_t> parse_byte_size(std::string_view text) {
  double value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || !(value >= 0)) return std::nullopt;
  const std::string_view unit(p, text.data() + text.size() - p);
  static const std::map<std::string_view, double> units = {
      {"", 1}, {"B", 1}, {"KiB", 0x1p10}, {"MiB", 0x1p20}, {"GiB", 0x1p30}, {"TiB", 0x1p40}};
  const auto it = units.find(unit);
  if (it == units.end() || value * it->second >= 0x1p63) return std::nullopt;
  return static_cast<uint64_t>(value * it->second);
}

Config parse(std::string_view toml_text, const std::string& source_name) {
  toml::table doc;
  try {
    doc = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << source_name << ":" << e.source().begin.line << ": syntax error: " << e.description();
    throw ConfigError("", e.source().begin.line, os.str());
  }
  Config c;
  apply_table(c, doc, "", source_name);
  apply_functions_preset(c.functions);
  check_consistency(c, source_name);
  return c;
}

}  // namespace antiphase::config
