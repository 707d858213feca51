#pragma once
// The agent's configuration: every key, its type and its default in one place.
// Parsing is pure (text in, Config or a located error out); the agent reads the file.
#include "common/config/defaults.h"
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace antiphase::config {

struct SamplerConfig {
  std::string mode = "auto";   // auto | sched_switch | perf_sample | cgroup | replay
  double tick_s = defaults::kTickS;         // how often usage is read and fed to the model
  uint32_t perf_frequency_hz = defaults::kPerfFrequencyHz;  // perf_sample mode; a prime avoids locking to timers
  uint32_t max_cgroups = defaults::kMaxCgroups;      // size of the in-kernel cgroup table
  std::string replay_file;          // replay mode: trace CSV (plain or gzip)
  double replay_speed = 1.0;        // replay mode: trace seconds per wall second
  std::string replay_tenants;       // replay mode: file naming the functions running now (all if empty)
};

struct FunctionsConfig {
  // A named cgroup layout ("kubernetes", "containerd", ...; see functions_preset_names):
  // it replaces cgroup_roots, depth and pattern where they keep their defaults.
  std::string preset;
  // Relative to the cgroup2 mount (found from /proc/self/mountinfo) or absolute.
  std::vector<std::string> cgroup_roots{""};
  // Regex with one capture group naming the function. Several cgroups that capture
  // the same name are instances of one function.
  std::string pattern = R"(^fn-(.+?)(-[0-9]+)?\.scope$)";
  // Depth below a root at which functions live (1 = the root's children);
  // 0 = the outermost matching cgroup at any depth.
  uint32_t depth = 0;
  double rescan_s = 5.0;  // how often the cgroup tree is walked (the walk dominates agent CPU)
  uint32_t history_ticks = 600;  // ring buffer of recent per-function usage
};

// Presets for functions.preset, in the order docs list them.
std::vector<std::string> functions_preset_names();

struct ApiConfig {
  std::string socket = "/run/antiphase/api.sock";
  uint32_t socket_mode = 0660;
  std::string socket_group;         // empty: the agent's own group
  uint32_t max_body_bytes = 64 * 1024;
  std::string metrics_listen;       // e.g. "127.0.0.1:9464": TCP, /metrics only; empty = off
  std::vector<uint32_t> allowed_uids;  // SO_PEERCRED policy; empty = root + own uid + group members
};

struct StateConfig {
  std::string dir = "/var/lib/antiphase";
  double save_interval_s = 300.0;
};

struct ShapeConfigKeys {
  uint32_t day_slots = defaults::kDaySlots;
  uint32_t hour_slots = defaults::kHourSlots;
  uint32_t k = defaults::kDayK;
  uint32_t hour_k = defaults::kHourK;
  double half_life_periods = defaults::kHalfLifePeriods;
  double full_confidence_s = defaults::kFullConfidenceS;
  double highest_window_s = defaults::kHighestWindowS;
  bool highest_window_after_relief = defaults::kHighestWindowAfterRelief;
};

struct AdmissionConfig {
  double capacity_cores = 0.0;      // 0 = online CPUs minus reserve_cores
  double reserve_cores = defaults::kReserveCores;       // kept for the system when capacity is derived
  double target_utilisation = defaults::kTargetUtilisation;  // fraction of capacity projected peaks may reach
  double target_overload_rate = defaults::kTargetOverloadRate;  // fraction of host-time above capacity we accept
  std::string unknown_function = "size_from_request";  // or "reject"
  double stale_after_s = defaults::kStaleAfterS;      // refuse when telemetry is older than this
  double min_confidence = defaults::kMinConfidence;      // below: use the function's observed peak
  double max_admitted_cores = 0.0;  // optional cap on total admitted mean load; 0 = none
  uint64_t memory_capacity_bytes = 0;            // 0 = MemTotal from /proc/meminfo
  uint64_t memory_reserve_bytes = defaults::kMemoryReserveBytes;  // kept for everything that is not a tenant
  std::string committed_memory = "limits";       // limits | peaks | off (see common/admission/memory_guard.h)
  double memory_peak_margin = defaults::kMemoryPeakMargin;        // observed memory peaks are multiplied by this
  // Cross-term co-movement: learned | fixed | host | sketch | shape (docs/admission.md).
  std::string comovement = "learned";
  std::string rule = "overload_rate";  // or "slot_quantile" (what-if: the rule before 2026-11)
  double tail_prior_exceedances = defaults::kTailPriorExceedances;  // weight of the Gaussian in the calibrated tail
  double comovement_prior = defaults::kComovementPrior;
  bool accept_when_peaks_fit = true;  // peaks fit + measured-overload brake (docs/admission.md)
  double lump_share = defaults::kLumpShare;  // lumps: jumps of this share of the limit; 0 = off
  double newcomer_quantile = defaults::kNewcomerQuantile;  // unknown functions: request × this quantile of newcomers' use/request; 0 = trust requests
  double relief_after_s = defaults::kReliefAfterS;  // above capacity this long: name a tenant to move; 0 = never
};

struct GossipConfigKeys {
  bool enabled = false;
  std::string node_id;  // empty: the host name
  std::string bind = "tcp://127.0.0.1:7946";
  std::string advertise;
  std::vector<std::string> seeds;
  uint32_t fanout = 3;
  double interval_s = 1.0;
  double suspect_after_s = 4.0;
  double dead_after_s = 15.0;
  double purge_after_s = 120.0;
  std::string secret_key_file;
  std::string public_key_file;
  std::string allowed_keys_dir;
  bool insecure = false;
  double republish_threshold = 0.05;
  double republish_min_interval_s = 30.0;
  uint32_t max_peers = 16384;     // members kept; a fleet larger than this must raise it
  uint32_t function_homes = 0;    // 0: every agent keeps every summary; r: r homes per function
};

struct LogConfig {
  std::string level = "info";  // trace | debug | info | warn | error
};

struct Config {
  SamplerConfig sampler;
  FunctionsConfig functions;
  ApiConfig api;
  StateConfig state;
  ShapeConfigKeys shape;
  AdmissionConfig admission;
  GossipConfigKeys gossip;
  LogConfig log;
};

// A configuration error that names the key and where it is.
struct ConfigError : std::runtime_error {
  ConfigError(std::string key, uint32_t line, const std::string& what)
      : std::runtime_error(what), key(std::move(key)), line(line) {}
  std::string key;
  uint32_t line;  // 1-based; 0 when the error is not tied to a line
};

// Parses TOML text. `source_name` is used in messages ("antiphase.toml:12: ...").
// Throws ConfigError for syntax errors, unknown keys, wrong types and bad values.
Config parse(std::string_view toml_text, const std::string& source_name = "config");

// Parses "250ms", "1s", "5m", "2h", "1d" or a bare number of seconds.
std::optional<double> parse_duration_s(std::string_view text);

// Parses "512MiB", "16GiB", "1.5GiB" (B, KiB, MiB, GiB, TiB) or a bare number of bytes.
std::optional<uint64_t> parse_byte_size(std::string_view text);

// The defaults as a fully commented TOML document (what `antiphased --print-default-config` prints).
std::string default_config_toml();

}  // namespace antiphase::config
