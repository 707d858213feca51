// Start-up as an operator meets it (issue 19): `--check-config` refuses exactly what the
// start refuses, with the same message; a missing cgroup root is not fatal; a state file
// the agent cannot read is never replaced; a second agent on the same state directory is
// refused before it touches any state. Real antiphased processes; cases that need a user
// other than root run the agent through setpriv as nobody.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/bpf/cgroup_fixture.h"
#include "tests/system/agent_process.h"
#include "tests/system/free_ports.h"

using namespace antiphase::testing;
namespace fs = std::filesystem;

namespace {

constexpr int kNobody = 65534;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text, fs::perms mode) {
  std::ofstream(path) << text;
  fs::permissions(path, mode);
}

// A temp dir owned by nobody holding the config, state dir and socket, so that an agent
// run as nobody meets only the problem a test plants.
struct NobodyDirs {
  explicit NobodyDirs(const std::string& tag) : dirs(make_agent_dirs(tag)) {
    fs::create_directories(state());
    for (const auto& p : {dirs.dir, state()}) EXPECT_EQ(::chown(p.c_str(), kNobody, kNobody), 0) << p;
  }
  std::string state() const { return dirs.state(); }
  std::string config(std::string toml) const {
    const std::string api = "[api]\n", socket = "socket = \"" + dirs.socket() + "\"\n";
    const auto at = toml.find(api);
    toml = at == std::string::npos ? api + socket + toml : toml.insert(at + api.size(), socket);
    std::ofstream(dirs.config()) << toml << "[state]\ndir = \"" << state() << "\"\n";
    return dirs.config();
  }
  AgentDirs dirs;
};

std::string antiphased(bool as_nobody) {
  return std::string(as_nobody ? "setpriv --reuid=65534 --regid=65534 --clear-groups -- " : "") + ANTIPHASED_PATH;
}

struct Outcome {
  int status;
  std::string output;
};

Outcome check_config(const std::string& config, bool as_nobody) {
  Outcome o{};
  o.status = run_command(antiphased(as_nobody) + " --check-config --config " + config, &o.output);
  return o;
}

// Starts the agent for real; one that wrongly gets past its checks is stopped after 10 s.
Outcome start(const std::string& config, bool as_nobody) {
  Outcome o{};
  o.status = run_command("timeout 10 " + antiphased(as_nobody) + " --config " + config, &o.output);
  return o;
}

struct RefusedCase {
  std::string name;
  std::string toml;
  bool as_nobody = false;
  std::string expected;  // in both the check's and the start's output
};

class CheckAndStartAgree : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!running_as_root() || cgroup2_mount().empty()) GTEST_SKIP() << "needs root (setpriv, chown) and a cgroup2 mount";
  }
  // --check-config exits 2 naming the problem, and so does the start.
  static void expect_both_refuse(const NobodyDirs& setup, const RefusedCase& c) {
    SCOPED_TRACE(c.name);
    const std::string config = setup.config("[sampler]\nmode = \"cgroup\"\n" + c.toml);
    const Outcome check = check_config(config, c.as_nobody);
    EXPECT_EQ(check.status, 2) << check.output;
    EXPECT_NE(check.output.find(c.expected), std::string::npos) << check.output;
    const Outcome started = start(config, c.as_nobody);
    EXPECT_EQ(started.status, 2) << started.output;
    EXPECT_NE(started.output.find(c.expected), std::string::npos) << started.output;
  }
};

TEST_F(CheckAndStartAgree, OnConfigsTheStartRefuses) {
  const std::vector<RefusedCase> cases = {
      {"regex with unbalanced parentheses", "[functions]\npattern = '^fn-(.+\\.scope$'\n", false, "is not a valid regex"},
      {"pattern without a capture group", "[functions]\npattern = '^fn-.+\\.scope$'\n", false, "has no capture group"},
      {"socket_group that does not exist", "[api]\nsocket_group = \"antiphase-no-such-group\"\n", false,
       "api.socket_group: no such group"},
      {"socket_group the agent is not in", "[api]\nsocket_group = \"root\"\n", true,
       "is not a member of group \"root\""},
      {"root outside the cgroup2 filesystem", "[functions]\ncgroup_roots = [\"/tmp\"]\n", false,
       "outside the cgroup2 filesystem"},
      {"wildcard bind without advertise",
       "[gossip]\nenabled = true\ninsecure = true\nbind = \"tcp://0.0.0.0:7946\"\n", false, "is a wildcard; set advertise"},
  };
  for (const auto& c : cases) {
    NobodyDirs setup("refused");
    expect_both_refuse(setup, c);
  }
}

TEST_F(CheckAndStartAgree, OnKeyFilesTheStartRefuses) {
  for (const std::string problem : {"mode", "owner", "garbage"}) {
    NobodyDirs setup("keys");
    const std::string keys = setup.dirs.dir + "/keys";
    fs::create_directories(keys + "/peers");
    std::string out;
    ASSERT_EQ(run_command(std::string(ANTIPHASECTL_PATH) + " keygen " + keys + "/host", &out), 0) << out;
    fs::copy_file(keys + "/host.pub", keys + "/peers/host.pub");
    for (const auto& p : {keys, keys + "/peers"}) fs::permissions(p, fs::perms::all);
    ASSERT_EQ(::chown((keys + "/host.key").c_str(), kNobody, kNobody), 0);
    RefusedCase c{problem, "[gossip]\nenabled = true\nbind = \"tcp://127.0.0.1:" + std::to_string(free_port_block(1)) +
                               "\"\nsecret_key_file = \"" + keys + "/host.key\"\nallowed_keys_dir = \"" + keys + "/peers\"\n",
                  true, ""};
    if (problem == "mode") {
      fs::permissions(keys + "/host.key", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
      c.expected = "chmod 600";
    } else if (problem == "owner") {
      ASSERT_EQ(::chown((keys + "/host.key").c_str(), 0, 0), 0);  // left root's by a manual keygen
      c.expected = "Permission denied; the agent runs as nobody: chown nobody: " + keys + "/host.key";
    } else {
      write_file(keys + "/peers/README", "put peer keys here\n", fs::perms::owner_read | fs::perms::others_read);
      c.expected = "no valid Z85 public key in " + keys + "/peers/README";
    }
    expect_both_refuse(setup, c);
  }
}

// systemd creates fn.slice only when its first scope starts: the agent must come up
// without it, say so, and measure the functions below it once it appears.
TEST(AgentStartup, MissingCgroupRootIsReportedAndPickedUpWhenItAppears) {
  if (!running_as_root() || cgroup2_mount().empty()) GTEST_SKIP() << "needs root and a cgroup2 mount";
  const std::string mount = cgroup2_mount();
  const std::string root_name = unique_cgroup_name("antiphase-late-root");
  const auto dirs = make_agent_dirs("late-root");
  const std::string toml = "[sampler]\nmode = \"cgroup\"\ntick = \"100ms\"\n[functions]\ncgroup_roots = [\"" + root_name +
                           "\"]\ndepth = 1\nrescan = \"100ms\"\n";
  {
    std::ofstream(dirs.config()) << "[api]\nsocket = \"" << dirs.socket() << "\"\n[state]\ndir = \"" << dirs.state()
                                 << "\"\n" << toml;
  }
  const Outcome check = check_config(dirs.config(), false);
  EXPECT_EQ(check.status, 0) << check.output;
  EXPECT_NE(check.output.find("warning: functions.cgroup_roots: \"" + root_name + "\""), std::string::npos) << check.output;
  EXPECT_NE(check.output.find("does not exist yet"), std::string::npos) << check.output;

  AgentProcess agent(dirs, toml);
  EXPECT_NE(agent.log().find("does not exist yet"), std::string::npos) << agent.log();
  EXPECT_EQ(agent.log().find("not a directory"), std::string::npos) << agent.log();
  auto stats = agent.get_json("/v1/stats");
  ASSERT_EQ(stats["missing_roots"].size(), 1u) << stats.dump();
  EXPECT_EQ(stats["missing_roots"][0], mount + "/" + root_name);

  ScopedCgroup root(mount, root_name);
  ScopedCgroup fn(root.path(), "fn-late.scope");
  Burner burner(fn, BurnPattern::DutyCycled);
  bool measured = false;
  for (int i = 0; i < 50 && !measured; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto functions = agent.get_json("/v1/functions")["functions"];
    measured = !functions.empty() && functions[0]["name"] == "late" && functions[0]["cores"].get<double>() > 0.1;
  }
  EXPECT_TRUE(measured) << agent.get_json("/v1/functions").dump();
  EXPECT_TRUE(agent.get_json("/v1/stats")["missing_roots"].empty());
  EXPECT_NE(agent.log().find("appeared"), std::string::npos) << agent.log();
  burner.stop();
  EXPECT_EQ(agent.terminate(), 0) << agent.log();
}

// A manual run as root left shapes.bin root-owned; the service (here: nobody) must
// refuse to start and leave the file as it was, instead of "starting fresh" and saving
// an empty state over it.
TEST(AgentStartup, StateItCannotReadIsNeverReplaced) {
  if (!running_as_root()) GTEST_SKIP() << "needs root (chown, setpriv)";
  NobodyDirs setup("unreadable-state");
  const std::string shapes = setup.state() + "/shapes.bin";
  const std::string learned = "weeks of learned shapes";
  write_file(shapes, learned, fs::perms::owner_read | fs::perms::owner_write);  // root's, 0600
  const std::string config = setup.config("[sampler]\nmode = \"cgroup\"\n");
  const Outcome check = check_config(config, true);
  EXPECT_EQ(check.status, 2) << check.output;
  const Outcome started = start(config, true);
  EXPECT_EQ(started.status, 2) << started.output;
  EXPECT_NE(started.output.find("cannot read saved state " + shapes), std::string::npos) << started.output;
  EXPECT_NE(started.output.find("chown -R nobody: " + setup.state()), std::string::npos) << started.output;
  EXPECT_EQ(read_file(shapes), learned);
  struct stat st {};
  ASSERT_EQ(::stat(shapes.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u) << "the file was replaced";
}

// A second agent on the same state directory (here with its own socket, so only the
// state is shared) is refused before it touches anything, gossip.generation included.
TEST(AgentStartup, SecondInstanceIsRefusedBeforeTouchingState) {
  if (!running_as_root() || cgroup2_mount().empty()) GTEST_SKIP() << "needs root and a cgroup2 mount";
  const auto dirs = make_agent_dirs("second");
  const std::string gossip = "[sampler]\nmode = \"cgroup\"\n[gossip]\nenabled = true\nbind = \"tcp://127.0.0.1:" +
                             std::to_string(free_port_block(1)) + "\"\n";
  AgentProcess first(dirs, gossip);
  const std::string generation = dirs.state() + "/gossip.generation";
  const std::string generation_before = read_file(generation);
  ASSERT_FALSE(generation_before.empty());
  const std::string second_config = dirs.dir + "/second.toml";
  std::ofstream(second_config) << "[api]\nsocket = \"" << dirs.dir << "/second.sock\"\n[state]\ndir = \"" << dirs.state()
                               << "\"\n" << gossip;
  const Outcome check = check_config(second_config, false);
  EXPECT_EQ(check.status, 0) << "a check next to a running agent is fine:\n" << check.output;
  const Outcome second = start(second_config, false);
  EXPECT_EQ(second.status, 2) << second.output;
  EXPECT_NE(second.output.find("is in use by another antiphased"), std::string::npos) << second.output;
  EXPECT_EQ(read_file(generation), generation_before);
  EXPECT_EQ(first.get_json("/healthz")["status"], "ok");
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// log.level = debug shows the tick timing the troubleshooting docs point to; the gossip
// start is one line.
TEST(AgentStartup, DebugLogShowsTickTimingAndGossipStartsOnce) {
  if (!running_as_root() || cgroup2_mount().empty()) GTEST_SKIP() << "needs root and a cgroup2 mount";
  const auto dirs = make_agent_dirs("debug-log");
  AgentProcess agent(dirs, "[sampler]\nmode = \"cgroup\"\ntick = \"100ms\"\n[log]\nlevel = \"debug\"\n"
                           "[gossip]\nenabled = true\nbind = \"tcp://127.0.0.1:" + std::to_string(free_port_block(1)) + "\"\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  const std::string log = agent.log();
  EXPECT_GE(occurrences(log, "debug: tick "), 3u) << log;
  EXPECT_NE(log.find(" ms late, took "), std::string::npos) << log;
  EXPECT_EQ(occurrences(log, "gossip: node "), 1u) << log;
}

}  // namespace
