// The local API and the CLI against a real agent process on a real Unix socket.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "tests/bpf/cgroup_fixture.h"
#include "tests/system/agent_process.h"
#include "tests/system/prometheus_text.h"

using namespace antiphase::testing;
using nlohmann::json;

namespace {

class AgentApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!running_as_root() || cgroup2_mount().empty()) return;
    const std::string mount = cgroup2_mount();
    root_ = std::make_unique<ScopedCgroup>(mount, unique_cgroup_name("antiphase-api"));
    fn_ = std::make_unique<ScopedCgroup>(root_->path(), "fn-web.scope");
    burner_ = std::make_unique<Burner>(*fn_, BurnPattern::DutyCycled);
    dirs_ = make_agent_dirs("api");
    agent_ = std::make_unique<AgentProcess>(
        dirs_, "[sampler]\nmode = \"cgroup\"\ntick = \"200ms\"\n[functions]\ncgroup_roots = [\"" +
                   root_->path().substr(mount.size() + 1) + "\"]\ndepth = 1\n[api]\n" +
                   "max_body_bytes = 2048\n[admission]\ncapacity_cores = 8\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  }
  static void TearDownTestSuite() {
    agent_.reset();
    burner_.reset();
    fn_.reset();
    root_.reset();
  }
  void SetUp() override {
    if (!agent_) GTEST_SKIP() << "needs root and a cgroup2 mount";
  }
  static antiphase::ctl::ApiReply post(const std::string& path, const std::string& body) { return agent_->call("POST", path, body); }
  static std::string run_ctl(const std::string& args, int* status) {
    std::string out;
    *status = run_command(std::string(ANTIPHASECTL_PATH) + " --socket " + dirs_.socket() + " " + args, &out);
    return out;
  }

  static inline std::unique_ptr<ScopedCgroup> root_, fn_;
  static inline std::unique_ptr<Burner> burner_;
  static inline AgentDirs dirs_;
  static inline std::unique_ptr<AgentProcess> agent_;
};

TEST_F(AgentApi, SocketHasConfiguredMode) {
  struct stat st {};
  ASSERT_EQ(::stat(dirs_.socket().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
}

TEST_F(AgentApi, FunctionsListsTheRunningFunction) {
  const json r = agent_->get_json("/v1/functions");
  EXPECT_EQ(r["sampler"], "cgroup");
  ASSERT_EQ(r["functions"].size(), 1u);
  const auto& f = r["functions"][0];
  EXPECT_EQ(f["name"], "web");
  EXPECT_EQ(f["instances"], 1);
  EXPECT_GT(f["cores_10s"].get<double>(), 0.2);
  EXPECT_LT(f["cores_10s"].get<double>(), 0.8);
  ASSERT_EQ(f["cgroups"].size(), 1u);
  EXPECT_EQ(f["cgroups"][0], fn_->path());
}

TEST_F(AgentApi, FunctionDetailHasProfilesAndEmbedding) {
  const json f = agent_->get_json("/v1/functions/web");
  EXPECT_EQ(f["shape"]["day"]["slots"], 96);
  EXPECT_EQ(f["shape"]["hour"]["slots"], 60);
  EXPECT_GT(f["shape"]["samples"].get<int>(), 2);
  EXPECT_LT(f["shape"]["confidence"].get<double>(), 0.1);  // minutes of history, not a day
  EXPECT_TRUE(f["correlation_with_host"].contains("bound"));
  EXPECT_GT(f["history"].size(), 2u);
}

TEST_F(AgentApi, AdmitSmallNewFunctionAcceptsAndHugeOneRejects) {
  auto ok = post("/v1/admit", R"({"function":"newfn","mean_cores":0.1,"peak_cores":0.2,"memory_bytes":268435456})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  const json accepted = json::parse(ok.body);
  EXPECT_TRUE(accepted["accept"].get<bool>()) << accepted.dump(2);
  EXPECT_DOUBLE_EQ(accepted["capacity_cores"].get<double>(), 8.0);
  EXPECT_FALSE(accepted["reasons"].empty());

  auto big = post("/v1/admit", R"({"function":"hog","mean_cores":50,"peak_cores":100,"memory_bytes":268435456})");
  ASSERT_EQ(big.status, 200);
  const json rejected = json::parse(big.body);
  EXPECT_FALSE(rejected["accept"].get<bool>()) << rejected.dump(2);
  EXPECT_LT(rejected["headroom_cores"].get<double>(), 0);
  EXPECT_FALSE(rejected["binding_window"].get<std::string>().empty());
}

TEST_F(AgentApi, InstancesScaleTheCandidate) {
  const json one = json::parse(post("/v1/admit", R"({"function":"newfn","mean_cores":1,"peak_cores":1})").body);
  const json four = json::parse(post("/v1/admit", R"({"function":"newfn","mean_cores":1,"peak_cores":1,"instances":4})").body);
  EXPECT_NEAR(four["projected_peak_cores"].get<double>() - one["projected_peak_cores"].get<double>(), 3.0, 0.3)
      << one.dump(2) << four.dump(2);
}

TEST_F(AgentApi, UnknownFunctionWithoutSizeIsRefusedWithReason) {
  const auto r = post("/v1/admit", R"({"function":"never-seen"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json d = json::parse(r.body);
  EXPECT_FALSE(d["accept"].get<bool>());
  EXPECT_NE(d["reasons"].dump().find("never-seen"), std::string::npos) << d.dump(2);
}

TEST_F(AgentApi, BadRequestsGetTheRightStatusAndAJsonError) {
  struct Case {
    std::string method, path, body;
    long status;
    std::string mention;
  };
  const std::vector<Case> cases = {
      {"POST", "/v1/admit", "{not json", 400, "malformed"},
      {"POST", "/v1/admit", R"({"function":"web","colour":"red"})", 400, "colour"},
      {"POST", "/v1/admit", R"({"function":"web","instances":0})", 400, "instances"},
      {"POST", "/v1/admit", R"({"instances":1})", 400, "function"},
      {"POST", "/v1/admit", std::string(4096, ' '), 413, "max_body_bytes"},
      {"POST", "/v1/rank", R"({"candidates":[]})", 400, "candidates"},
      {"DELETE", "/v1/admit", "", 405, "POST"},
      {"GET", "/v1/nothing", "", 404, "/v1/nothing"},
      {"GET", "/v1/functions/nope", "", 404, "nope"},
  };
  for (const auto& c : cases) {
    const auto r = agent_->call(c.method, c.path, c.body);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.path << " " << c.body.substr(0, 40) << " -> " << r.body;
    const json e = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(e.is_discarded()) << r.body;
    EXPECT_TRUE(e.contains("error") && e.contains("detail")) << r.body;
    EXPECT_NE(r.body.find(c.mention), std::string::npos) << r.body;
  }
  EXPECT_EQ(agent_->call("GET", "/healthz").status, 200);  // still healthy after all that
}

TEST_F(AgentApi, RankOrdersCandidates) {
  const auto r = post("/v1/rank", R"({"candidates":[{"function":"a","mean_cores":100,"peak_cores":100},
                                                    {"function":"b","mean_cores":0.1,"peak_cores":0.1,"memory_bytes":268435456}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json ranking = json::parse(r.body)["ranking"];
  ASSERT_EQ(ranking.size(), 2u);
  EXPECT_EQ(ranking[0]["function"], "b");  // the one that fits comes first
  EXPECT_TRUE(ranking[0]["accept"].get<bool>());
  EXPECT_FALSE(ranking[1]["accept"].get<bool>());
}

TEST_F(AgentApi, HostAndStatsDescribeTheAgent) {
  const json h = agent_->get_json("/v1/host");
  EXPECT_DOUBLE_EQ(h["capacity_cores"].get<double>(), 8.0);
  EXPECT_GT(h["calibrated_z"].get<double>(), 1.0);
  EXPECT_EQ(h["aggregate"]["day"]["mean"].size(), 96u);
  const json s = agent_->get_json("/v1/stats");
  EXPECT_EQ(s["sampler"]["mode"], "cgroup");
  EXPECT_FALSE(s["sampler"]["reason"].get<std::string>().empty());
  EXPECT_GE(s["features"].size(), 5u);
  EXPECT_GT(s["ticks"]["count"].get<int>(), 3);
  EXPECT_GT(s["memory"]["rss_bytes"].get<double>(), 0);
}

TEST_F(AgentApi, MetricsAreValidPrometheusText) {
  const auto r = agent_->call("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  std::string error;
  const auto families = parse_prometheus_text(r.body, &error);
  ASSERT_TRUE(error.empty()) << error << "\n" << r.body;
  for (const char* name : {"antiphase_function_cpu_cores", "antiphase_host_capacity_cores", "antiphase_admission_decisions_total",
                           "antiphase_ticks_total", "antiphase_resident_memory_bytes", "antiphase_admission_margin_z"})
    EXPECT_TRUE(families.count(name)) << name;
  EXPECT_NE(r.body.find("antiphase_function_cpu_cores{function=\"web\"}"), std::string::npos);
}

TEST_F(AgentApi, CliExitCodesFollowTheDecision) {
  int status = -1;
  run_ctl("admit newfn --mean-cores 0.1 --peak-cores 0.2 --memory 256MiB", &status);
  EXPECT_EQ(status, 0);
  const std::string out = run_ctl("admit hog --mean-cores 90 --peak-cores 100", &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("REJECT"), std::string::npos) << out;
  // A declared memory limit larger than the host is refused on memory, not on CPU.
  const std::string no_room = run_ctl("admit newfn --mean-cores 0.1 --peak-cores 0.2 --memory 64TiB", &status);
  EXPECT_EQ(status, 1) << no_room;
  EXPECT_NE(no_room.find("bound_by                      memory"), std::string::npos) << no_room;
  std::string err;
  status = run_command(std::string(ANTIPHASECTL_PATH) + " --socket /nonexistent/x.sock admit web", &err);
  EXPECT_EQ(status, 2) << err;
  EXPECT_NE(err.find("no agent socket at /nonexistent/x.sock"), std::string::npos) << err;
  const std::string table = run_ctl("functions", &status);
  EXPECT_EQ(status, 0);
  EXPECT_NE(table.find("web"), std::string::npos) << table;
  const std::string shape = run_ctl("shape web", &status);
  EXPECT_EQ(status, 0) << shape;
  EXPECT_NE(shape.find("time of day"), std::string::npos) << shape;
  run_ctl("shape nope", &status);
  EXPECT_EQ(status, 2);
  const std::string host = run_ctl("host", &status);
  EXPECT_EQ(status, 0) << host;
  EXPECT_NE(host.find("highest uses count for good until relief is acted upon, then 120 h"), std::string::npos) << host;
}

// --- start-up, shutdown and state ---

TEST(AgentState, SurvivesRestartAndQuarantinesCorruptState) {
  if (!running_as_root() || cgroup2_mount().empty()) GTEST_SKIP() << "needs root and a cgroup2 mount";
  const std::string mount = cgroup2_mount();
  ScopedCgroup root(mount, unique_cgroup_name("antiphase-state"));
  ScopedCgroup fn(root.path(), "fn-job.scope");
  Burner burner(fn, BurnPattern::DutyCycled);
  const auto dirs = make_agent_dirs("state");
  const std::string cfg = "[sampler]\nmode = \"cgroup\"\ntick = \"100ms\"\n[functions]\ncgroup_roots = [\"" +
                          root.path().substr(mount.size() + 1) + "\"]\ndepth = 1\n";
  uint64_t samples_before = 0;
  {
    AgentProcess agent(dirs, cfg);
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    samples_before = agent.get_json("/v1/functions/job")["shape"]["samples"].get<uint64_t>();
    EXPECT_GT(samples_before, 3u);
    EXPECT_EQ(agent.terminate(), 0) << agent.log();  // SIGTERM: clean exit, state saved
  }
  const std::string state_file = dirs.state() + "/shapes.bin";
  ASSERT_TRUE(std::filesystem::exists(state_file));
  {
    AgentProcess agent(dirs, cfg);
    const auto after = agent.get_json("/v1/functions/job")["shape"]["samples"].get<uint64_t>();
    EXPECT_GE(after, samples_before);
    EXPECT_EQ(agent.terminate(), 0);
  }
  { std::ofstream(state_file, std::ios::trunc) << "garbage, not a state file"; }
  {
    AgentProcess agent(dirs, cfg);
    EXPECT_NE(agent.log().find("unusable"), std::string::npos) << agent.log();
    size_t quarantined = 0;
    for (const auto& e : std::filesystem::directory_iterator(dirs.state()))
      quarantined += e.path().filename().string().find("shapes.bin.corrupt-") == 0;
    EXPECT_EQ(quarantined, 1u);
  }
}

// A missing root is no longer an error: see agent_startup_test.
TEST(AgentStartup, ConfigErrorsNameKeyAndLine) {
  const auto dirs = make_agent_dirs("cfg");
  { std::ofstream(dirs.config()) << "[sampler]\nmode = \"auto\"\n\ntikc = \"1s\"\n"; }
  std::string out;
  EXPECT_EQ(run_command(std::string(ANTIPHASED_PATH) + " --check-config --config " + dirs.config(), &out), 2);
  EXPECT_NE(out.find("antiphase.toml:4"), std::string::npos) << out;
  EXPECT_NE(out.find("sampler.tikc"), std::string::npos) << out;
}

// A free loopback TCP port (bound then released; the agent binds it right after).
int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The status code of a raw HTTP response ("HTTP/1.x 200 OK..."), 0 if there is none.
int http_status(const std::string& response) {
  return response.rfind("HTTP/1.", 0) == 0 && response.size() > 12 ? std::atoi(response.c_str() + 9) : 0;
}

// One HTTP/1.0 exchange over TCP; returns the raw response ("" if nothing answered).
std::string http_over_tcp(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return response;
}

TEST(AgentMetricsListener, ServesPrometheusTextOverTcpAndNothingElse) {
  if (!running_as_root() || cgroup2_mount().empty()) GTEST_SKIP() << "needs root and a cgroup2 mount";
  const int port = free_loopback_port();
  const auto dirs = make_agent_dirs("metrics-tcp");
  AgentProcess agent(dirs, "[sampler]\nmode = \"cgroup\"\ntick = \"200ms\"\n[api]\nmetrics_listen = \"127.0.0.1:" +
                               std::to_string(port) + "\"\n");
  const std::string metrics = http_over_tcp(port, "GET /metrics HTTP/1.0\r\n\r\n");
  ASSERT_EQ(http_status(metrics), 200) << metrics.substr(0, 200);
  const auto body = metrics.substr(metrics.find("\r\n\r\n") + 4);
  std::string error;
  const auto families = parse_prometheus_text(body, &error);
  EXPECT_TRUE(error.empty()) << error;
  EXPECT_TRUE(families.count("antiphase_ticks_total"));

  // The TCP listener is for scrapers: the control API is on the Unix socket only.
  for (const char* request : {"GET /v1/functions HTTP/1.0\r\n\r\n", "GET /v1/stats HTTP/1.0\r\n\r\n",
                              "POST /v1/admit HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}"}) {
    const std::string reply = http_over_tcp(port, request);
    EXPECT_EQ(http_status(reply), 404) << request << " -> " << reply.substr(0, 120);
  }
}

TEST(AgentMetricsListener, BadAddressIsAStartupErrorNamingTheKey) {
  const auto dirs = make_agent_dirs("metrics-bad");
  { std::ofstream(dirs.config()) << "[api]\nsocket = \"" << dirs.socket() << "\"\nmetrics_listen = \"localhost\"\n[state]\ndir = \""
                                 << dirs.state() << "\"\n[sampler]\nmode = \"cgroup\"\n"; }
  std::string out;
  EXPECT_NE(run_command(std::string(ANTIPHASED_PATH) + " --config " + dirs.config(), &out), 0);
  EXPECT_NE(out.find("api.metrics_listen"), std::string::npos) << out;
}

TEST(AgentStartup, VersionPrintsTheFeatureProbe) {
  std::string out;
  EXPECT_EQ(run_command(std::string(ANTIPHASED_PATH) + " --version", &out), 0);
  EXPECT_NE(out.find("antiphased"), std::string::npos);
  EXPECT_NE(out.find("btf"), std::string::npos) << out;
}

}  // namespace
