// A real antiphased measuring real memory hogs: /v1/functions, /metrics and
// `antiphasectl functions` show each function's memory, within 5 % of the kernel's files.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <regex>
#include <thread>

#include "agent/memory/memory_layout.h"
#include "tests/memory/memory_hog.h"
#include "tests/system/agent_process.h"
#include "tests/system/prometheus_text.h"

namespace antiphase::testing {
namespace {

using nlohmann::json;
constexpr double kMiB = 1024 * 1024;

void expect_within(double shown, double kernel, const char* what) {
  EXPECT_LE(std::abs(shown - kernel), 0.05 * kernel) << what << ": shown " << shown / kMiB << " MiB, kernel "
                                                     << kernel / kMiB << " MiB";
}

// The value of `metric{function="hog"}` in Prometheus text; NaN if absent.
double hog_sample(const std::string& text, const std::string& metric) {
  std::smatch m;
  const std::regex line("\n" + metric + "\\{function=\"hog\"\\} ([0-9.e+]+)\n");
  return std::regex_search(text, m, line) ? std::stod(m[1]) : NAN;
}

TEST(AgentMemory, FunctionsMetricsAndCtlShowMemoryLikeTheKernel) {
  if (!running_as_root()) GTEST_SKIP() << "needs root to create cgroups";
  const std::string mount = cgroup2_mount();
  if (mount.empty()) GTEST_SKIP() << "no cgroup2 mount";
  const agent::MemoryLayout layout = agent::detect_memory_layout(mount);
  if (layout.hierarchy == agent::MemoryHierarchy::None) GTEST_SKIP() << layout.reason;
  LiveHogs hogs(layout);
  hogs.set_limit(0, 256 << 20);
  hogs.set_limit(1, 128 << 20);
  MemoryHog hog1(hogs.dirs(0), 96, 24), hog2(hogs.dirs(1), 48, 48);
  const AgentDirs dirs = make_agent_dirs("memory");
  AgentProcess agent(dirs, "[sampler]\nmode = \"cgroup\"\ntick = \"200ms\"\n[functions]\ncgroup_roots = [\"" +
                               hogs.root() + "\"]\ndepth = 1\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(800));

  const json r = agent.get_json("/v1/functions");
  const KernelFigures k1 = hogs.kernel(0), k2 = hogs.kernel(1);
  EXPECT_EQ(r["memory_source"], agent::to_string(layout.hierarchy));
  ASSERT_EQ(r["functions"].size(), 1u) << r.dump();
  const json& memory = r["functions"][0]["memory"];
  ASSERT_TRUE(memory.is_object()) << r.dump();
  expect_within(memory["current_bytes"].get<double>(), k1.current + k2.current, "current");
  expect_within(memory["peak_bytes"].get<double>(), k1.peak + k2.peak, "peak");
  EXPECT_EQ(memory["limit_bytes"], 384 << 20);
  EXPECT_EQ(memory["measured_instances"], 2);
  EXPECT_EQ(memory["peak_source"], "kernel");

  const std::string metrics = agent.call("GET", "/metrics").body;
  std::string error;
  parse_prometheus_text(metrics, &error);
  EXPECT_EQ(error, "");
  expect_within(hog_sample(metrics, "antiphase_function_memory_bytes"), k1.current + k2.current, "metric current");
  expect_within(hog_sample(metrics, "antiphase_function_memory_peak_bytes"), k1.peak + k2.peak, "metric peak");
  EXPECT_EQ(hog_sample(metrics, "antiphase_function_memory_limit_bytes"), 384 * kMiB);

  std::string table;
  ASSERT_EQ(run_command(std::string(ANTIPHASECTL_PATH) + " --socket " + dirs.socket() + " functions", &table), 0);
  // FUNCTION CORES 10s INST MEM MEM-PEAK: hog's memory in MiB, to three digits.
  std::smatch row;
  ASSERT_TRUE(std::regex_search(table, row, std::regex("\nhog +[0-9.]+ +[0-9.]+ +2 +([0-9.]+)M +([0-9.]+)M ")))
      << table;
  EXPECT_NEAR(std::stod(row[1]) * kMiB, k1.current + k2.current, 0.05 * (k1.current + k2.current)) << table;
  EXPECT_NEAR(std::stod(row[2]) * kMiB, k1.peak + k2.peak, 0.05 * (k1.peak + k2.peak)) << table;
}

}  // namespace
}  // namespace antiphase::testing
