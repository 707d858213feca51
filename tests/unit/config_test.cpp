#include <gtest/gtest.h>

#include "common/config/config.h"

using namespace antiphase::config;

namespace {
ConfigError parse_error(const std::string& text) {
  try {
    parse(text, "test.toml");
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a ConfigError for:\n" << text;
  return ConfigError("", 0, "");
}
}  // namespace

TEST(Config, EmptyTextGivesDefaults) {
  const Config c = parse("", "empty");
  EXPECT_EQ(c.sampler.mode, "auto");
  EXPECT_DOUBLE_EQ(c.sampler.tick_s, 1.0);
  EXPECT_EQ(c.api.socket, "/run/antiphase/api.sock");
  EXPECT_EQ(c.state.dir, "/var/lib/antiphase");
  EXPECT_EQ(c.functions.cgroup_roots, std::vector<std::string>{""});
}

TEST(Config, ShippedDefaultFileEqualsBuiltInDefaults) {
  // The packaged, commented config must describe exactly what the agent does without it.
  const Config file = parse(default_config_toml(), "antiphase.toml");
  const Config builtin;
  EXPECT_EQ(file.sampler.mode, builtin.sampler.mode);
  EXPECT_EQ(file.sampler.tick_s, builtin.sampler.tick_s);
  EXPECT_EQ(file.sampler.perf_frequency_hz, builtin.sampler.perf_frequency_hz);
  EXPECT_EQ(file.functions.pattern, builtin.functions.pattern);
  EXPECT_EQ(file.functions.depth, builtin.functions.depth);
  EXPECT_EQ(file.api.socket_mode, builtin.api.socket_mode);
  EXPECT_EQ(file.api.max_body_bytes, builtin.api.max_body_bytes);
  EXPECT_EQ(file.state.save_interval_s, builtin.state.save_interval_s);
  EXPECT_EQ(file.shape.k, builtin.shape.k);
  EXPECT_EQ(file.shape.highest_window_s, builtin.shape.highest_window_s);
  EXPECT_EQ(file.shape.highest_window_after_relief, builtin.shape.highest_window_after_relief);
  EXPECT_EQ(file.admission.target_overload_rate, builtin.admission.target_overload_rate);
  EXPECT_EQ(file.admission.stale_after_s, builtin.admission.stale_after_s);
  EXPECT_EQ(file.admission.relief_after_s, builtin.admission.relief_after_s);
  EXPECT_EQ(file.admission.memory_capacity_bytes, builtin.admission.memory_capacity_bytes);
  EXPECT_EQ(file.admission.memory_reserve_bytes, builtin.admission.memory_reserve_bytes);
  EXPECT_EQ(file.admission.committed_memory, builtin.admission.committed_memory);
  EXPECT_EQ(file.admission.memory_peak_margin, builtin.admission.memory_peak_margin);
  EXPECT_EQ(file.gossip.dead_after_s, builtin.gossip.dead_after_s);
  EXPECT_EQ(file.gossip.bind, builtin.gossip.bind);
  EXPECT_EQ(file.gossip.max_peers, builtin.gossip.max_peers);
  EXPECT_EQ(file.gossip.function_homes, builtin.gossip.function_homes);
  EXPECT_EQ(file.log.level, builtin.log.level);
}

TEST(Config, ReadsEveryRequiredKey) {
  const Config c = parse(R"(
[sampler]
mode = "cgroup"
tick = "500ms"
[functions]
cgroup_roots = ["system.slice", "/sys/fs/cgroup/x"]
pattern = '^ctr-(.+)$'
depth = 2
[api]
socket = "/tmp/a.sock"
socket_mode = "0600"
[state]
dir = "/tmp/state"
save_interval = "2m"
)");
  EXPECT_EQ(c.sampler.mode, "cgroup");
  EXPECT_DOUBLE_EQ(c.sampler.tick_s, 0.5);
  EXPECT_EQ(c.functions.cgroup_roots.size(), 2u);
  EXPECT_EQ(c.functions.pattern, "^ctr-(.+)$");
  EXPECT_EQ(c.functions.depth, 2u);
  EXPECT_EQ(c.api.socket, "/tmp/a.sock");
  EXPECT_EQ(c.api.socket_mode, 0600u);
  EXPECT_EQ(c.state.dir, "/tmp/state");
  EXPECT_DOUBLE_EQ(c.state.save_interval_s, 120.0);
}

TEST(Config, UnknownKeyNamesKeyAndLine) {
  const auto e = parse_error("[sampler]\nmode = \"auto\"\n\ntikc = \"1s\"\n");
  EXPECT_EQ(e.key, "sampler.tikc");
  EXPECT_EQ(e.line, 4u);
  EXPECT_NE(std::string(e.what()).find("test.toml:4"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("unknown key"), std::string::npos) << e.what();
}

TEST(Config, UnknownSectionIsAnError) {
  const auto e = parse_error("\n[sampeler]\nmode = \"auto\"\n");
  EXPECT_EQ(e.key, "sampeler");
  EXPECT_EQ(e.line, 2u);
}

TEST(Config, WrongTypeNamesKeyLineAndExpectedType) {
  const auto e = parse_error("[state]\ndir = 42\n");
  EXPECT_EQ(e.key, "state.dir");
  EXPECT_EQ(e.line, 2u);
  EXPECT_NE(std::string(e.what()).find("expected a string"), std::string::npos) << e.what();
  const auto e2 = parse_error("[functions]\n\ncgroup_roots = \"system.slice\"\n");
  EXPECT_EQ(e2.key, "functions.cgroup_roots");
  EXPECT_EQ(e2.line, 3u);
}

TEST(Config, BadValuesAreRejectedWithTheirKey) {
  EXPECT_EQ(parse_error("[sampler]\nmode = \"fast\"\n").key, "sampler.mode");
  EXPECT_EQ(parse_error("[sampler]\ntick = \"1 fortnight\"\n").key, "sampler.tick");
  EXPECT_EQ(parse_error("[sampler]\ntick = 0\n").key, "sampler.tick");
  EXPECT_EQ(parse_error("[api]\nsocket_mode = \"0999\"\n").key, "api.socket_mode");
  EXPECT_EQ(parse_error("[admission]\ntarget_overload_rate = 2.0\n").key, "admission.target_overload_rate");
  EXPECT_EQ(parse_error("[gossip]\nsuspect_after = \"20s\"\ndead_after = \"10s\"\n").key, "gossip.dead_after");
  EXPECT_EQ(parse_error("[shape]\nday_slots = 7\nk = 4\n").key, "shape.day_slots");
  EXPECT_EQ(parse_error("[gossip]\nfunction_homes = 65\n").key, "gossip.function_homes");
  EXPECT_EQ(parse_error("[gossip]\nmax_peers = 1\n").key, "gossip.max_peers");
  EXPECT_EQ(parse_error("[admission]\nrelief_after = \"2d\"\n").key, "admission.relief_after");
  EXPECT_EQ(parse_error("[admission]\nrelief_after = \"soon\"\n").key, "admission.relief_after");
  EXPECT_EQ(parse("[admission]\nrelief_after = \"0s\"\n").admission.relief_after_s, 0.0) << "0 = never";
}

TEST(Config, MemorySizesTakeBytesOrAUnit) {
  const Config c = parse("[admission]\nmemory_capacity_bytes = \"16GiB\"\nmemory_reserve_bytes = 536870912\n"
                         "committed_memory = \"peaks\"\nmemory_peak_margin = 1.5\n");
  EXPECT_EQ(c.admission.memory_capacity_bytes, 16ull << 30);
  EXPECT_EQ(c.admission.memory_reserve_bytes, 512ull << 20);
  EXPECT_EQ(c.admission.committed_memory, "peaks");
  EXPECT_EQ(*parse_byte_size("1.5GiB"), 3ull << 29);
  EXPECT_EQ(*parse_byte_size("4096"), 4096u);
  EXPECT_FALSE(parse_byte_size("16GB")) << "decimal units are ambiguous: refused";
  EXPECT_FALSE(parse_byte_size("-1MiB"));
  EXPECT_FALSE(parse_byte_size("9000000TiB"));
  EXPECT_EQ(parse_error("[admission]\nmemory_reserve_bytes = -1\n").key, "admission.memory_reserve_bytes");
  EXPECT_EQ(parse_error("[admission]\nmemory_capacity_bytes = \"lots\"\n").key, "admission.memory_capacity_bytes");
  EXPECT_EQ(parse_error("[admission]\ncommitted_memory = \"sum\"\n").key, "admission.committed_memory");
  EXPECT_EQ(parse_error("[admission]\nmemory_peak_margin = 0.5\n").key, "admission.memory_peak_margin");
}

TEST(Config, SyntaxErrorCarriesLine) {
  const auto e = parse_error("[sampler]\nmode = \n");
  EXPECT_EQ(e.line, 2u);
  EXPECT_NE(std::string(e.what()).find("syntax error"), std::string::npos);
}

TEST(Config, Durations) {
  EXPECT_DOUBLE_EQ(*parse_duration_s("250ms"), 0.25);
  EXPECT_DOUBLE_EQ(*parse_duration_s("5m"), 300);
  EXPECT_DOUBLE_EQ(*parse_duration_s("2h"), 7200);
  EXPECT_DOUBLE_EQ(*parse_duration_s("1d"), 86400);
  EXPECT_DOUBLE_EQ(*parse_duration_s("3"), 3);
  EXPECT_FALSE(parse_duration_s("abc"));
  EXPECT_FALSE(parse_duration_s("5 m"));
  EXPECT_FALSE(parse_duration_s("-1s"));
}

TEST(Config, FunctionsPresetSetsTheLayoutKeys) {
  const Config k8s = parse("[functions]\npreset = \"kubernetes\"\n", "t");
  EXPECT_EQ(k8s.functions.cgroup_roots, std::vector<std::string>{"kubepods.slice"});
  EXPECT_EQ(k8s.functions.depth, 0u);
  EXPECT_EQ(k8s.functions.pattern, R"(^kubepods-(?:burstable-|besteffort-)?pod([0-9a-f_]+)\.slice$)");
  const Config fc = parse("[functions]\npreset = \"firecracker\"\n", "t");
  EXPECT_EQ(fc.functions.cgroup_roots, std::vector<std::string>{"firecracker"});
  EXPECT_EQ(fc.functions.depth, 1u);
}

TEST(Config, FunctionsPresetYieldsToKeysSetToOtherValues) {
  const Config c = parse("[functions]\npreset = \"containerd\"\ncgroup_roots = [\"k8s.io\"]\n", "t");
  EXPECT_EQ(c.functions.cgroup_roots, std::vector<std::string>{"k8s.io"});
  EXPECT_EQ(c.functions.depth, 1u);
  EXPECT_EQ(c.functions.pattern, R"(^(.+?)(-[0-9]+)?$)");
}

TEST(Config, UnknownFunctionsPresetListsTheKnownOnes) {
  const ConfigError e = parse_error("[functions]\npreset = \"kubernets\"\n");
  EXPECT_NE(std::string(e.what()).find("functions.preset"), std::string::npos) << e.what();
  for (const auto& name : functions_preset_names())
    EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << name << " not listed in: " << e.what();
}
