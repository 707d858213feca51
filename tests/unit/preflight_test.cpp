// The preflight: every check the start makes, also made by --check-config. Each case is
// one the agent used to refuse at start although --check-config passed it (issue 19).
// Rootless where possible; cases that need a user who cannot read a file run the check
// in a child that dropped to nobody when the test runs as root.
#include <gtest/gtest.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/api/http_server.h"
#include "agent/daemon/preflight.h"
#include "agent/gossip/curve_keys.h"
#include "agent/registry/cgroup_fs.h"
#include "agent/state/state_dir.h"

using namespace antiphase;
using namespace antiphase::agent;
namespace fs = std::filesystem;

namespace {

constexpr uid_t kNobody = 65534;

class Preflight : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("antiphase-preflight-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "state");
    fs::permissions(dir_, fs::perms::all);  // a child dropped to nobody must reach its files
    config_.sampler.mode = "cgroup";
    config_.state.dir = (dir_ / "state").string();
    config_.api.socket = (dir_ / "api.sock").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  PreflightReport run(PreflightMode mode = PreflightMode::Check) const {
    PreflightContext context;
    context.mode = mode;
    context.cgroup2_mount = mount_;
    return preflight(config_, context);
  }

  // The findings of `check` as "E: message" / "W: ..." / "N: ...", one per line.
  static std::string of(const PreflightReport& report, const std::string& check) {
    std::string out;
    for (const auto& f : report.of(check))
      out += std::string(f.severity == Severity::Error ? "E: " : f.severity == Severity::Warning ? "W: " : "N: ") +
             f.message + "\n";
    return out;
  }

  // Runs the check as nobody (in a child, when we are root) and returns of(report, check).
  std::string as_nobody(const std::string& check) const {
    if (::geteuid() != 0) return of(run(), check);
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) return "pipe failed";
    const pid_t child = ::fork();
    if (child == 0) {
      ::close(pipe_fds[0]);
      if (::setgroups(0, nullptr) != 0 || ::setresgid(kNobody, kNobody, kNobody) != 0 ||
          ::setresuid(kNobody, kNobody, kNobody) != 0)
        ::_exit(3);
      const std::string text = of(run(), check);
      const bool written = ::write(pipe_fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size());
      ::_exit(written ? 0 : 4);
    }
    ::close(pipe_fds[1]);
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? text : "child failed";
  }

  void write(const fs::path& path, const std::string& text, fs::perms mode) const {
    std::ofstream(path) << text;
    fs::permissions(path, mode);
  }

  // A keypair under dir_/keys with the peers dir, and gossip configured to use them.
  void configure_secure_gossip() {
    fs::create_directories(dir_ / "keys/peers");
    gossip::generate_keypair_files((dir_ / "keys/host.pub").string(), (dir_ / "keys/host.key").string());
    fs::copy_file(dir_ / "keys/host.pub", dir_ / "keys/peers/self.pub");
    config_.gossip.enabled = true;
    config_.gossip.bind = "tcp://127.0.0.1:7946";
    config_.gossip.secret_key_file = (dir_ / "keys/host.key").string();
    config_.gossip.allowed_keys_dir = (dir_ / "keys/peers").string();
  }

  fs::path dir_;
  config::Config config_;
  std::optional<std::string> mount_ = find_cgroup2_mount();
};

bool has(const std::string& findings, const std::string& text) { return findings.find(text) != std::string::npos; }

TEST_F(Preflight, TheDefaultsWithOwnDirsPass) {
  if (!mount_) GTEST_SKIP() << "no cgroup2 filesystem mounted";
  const auto report = run();
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.count(Severity::Warning), 0u) << of(report, "cgroup_roots");
}

TEST_F(Preflight, ARegexWithUnbalancedParenthesesIsAnError) {
  config_.functions.pattern = R"(^fn-(.+\.scope$)";
  const std::string f = of(run(), "pattern");
  EXPECT_TRUE(has(f, "E: functions.pattern")) << f;
  EXPECT_TRUE(has(f, "not a valid regex")) << f;
}

TEST_F(Preflight, APatternWithoutCaptureGroupIsAnError) {
  config_.functions.pattern = R"(^fn-.+\.scope$)";
  const std::string f = of(run(), "pattern");
  EXPECT_TRUE(has(f, "E: functions.pattern")) << f;
  EXPECT_TRUE(has(f, "no capture group")) << f;
}

TEST_F(Preflight, ASocketGroupThatDoesNotExistIsAnError) {
  config_.api.socket_group = "antiphase-no-such-group";
  const std::string f = of(run(), "socket_group");
  EXPECT_TRUE(has(f, "E: api.socket_group: no such group \"antiphase-no-such-group\"")) << f;
}

TEST_F(Preflight, ASocketGroupTheAgentIsNotInIsAnErrorNamingSupplementaryGroups) {
  config_.api.socket_group = "root";  // gid 0 exists everywhere
  PreflightContext context;
  context.cgroup2_mount = mount_;
  context.credentials = {/*euid=*/1000, /*egid=*/1000, /*supplementary=*/{27, 100}, /*can_chown=*/false};
  std::string f = of(preflight(config_, context), "socket_group");
  EXPECT_TRUE(has(f, "E: api.socket_group: the agent (uid 1000) is not a member of group \"root\"")) << f;
  EXPECT_TRUE(has(f, "SupplementaryGroups=root")) << f;

  context.credentials.supplementary_groups.push_back(0);
  EXPECT_EQ(of(preflight(config_, context), "socket_group"), "") << "a member may chgrp";
  context.credentials.supplementary_groups.pop_back();
  context.credentials.can_chown = true;
  EXPECT_EQ(of(preflight(config_, context), "socket_group"), "") << "CAP_CHOWN may chgrp to any group";
}

TEST_F(Preflight, AMissingCgroupRootIsAWarningNotAnError) {
  config_.functions.cgroup_roots = {"antiphase-preflight-missing-" + std::to_string(::getpid()) + ".slice"};
  const auto report = run();
  const std::string f = of(report, "cgroup_roots");
  EXPECT_TRUE(report.ok()) << f;
  EXPECT_TRUE(has(f, "W: functions.cgroup_roots:")) << f;
  EXPECT_TRUE(has(f, "does not exist yet")) << f;
  EXPECT_FALSE(has(f, "not a directory")) << f;
}

TEST_F(Preflight, ARootOutsideTheCgroup2FilesystemIsAnError) {
  config_.functions.cgroup_roots = {dir_.string(), "../../../tmp"};
  const std::string f = of(run(), "cgroup_roots");
  EXPECT_TRUE(has(f, "E: functions.cgroup_roots: \"" + dir_.string() + "\"")) << f;
  EXPECT_TRUE(has(f, "E: functions.cgroup_roots: \"../../../tmp\"")) << f;
  EXPECT_TRUE(has(f, "outside the cgroup2 filesystem")) << f;
}

TEST_F(Preflight, ARootBelowTheMountButOnAnotherFilesystemIsAnError) {
  mount_ = dir_.string();  // a plain directory posing as the cgroup2 mount
  fs::create_directories(dir_ / "fn.slice");
  write(dir_ / "file", "", fs::perms::owner_read);
  config_.functions.cgroup_roots = {"fn.slice", "file"};
  const std::string f = of(run(), "cgroup_roots");
  EXPECT_TRUE(has(f, "E: functions.cgroup_roots: \"fn.slice\"")) << f;
  EXPECT_TRUE(has(f, "is not on the cgroup2 filesystem")) << f;
  EXPECT_TRUE(has(f, "E: functions.cgroup_roots: \"file\" (" + (dir_ / "file").string() + ") is not a directory")) << f;
}

TEST_F(Preflight, ASecretKeyOthersCanReadIsAnError) {
  configure_secure_gossip();
  fs::permissions(dir_ / "keys/host.key", fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
  const std::string f = of(run(), "gossip");
  EXPECT_TRUE(has(f, "E: gossip: secret key file")) << f;
  EXPECT_TRUE(has(f, "chmod 600")) << f;
}

TEST_F(Preflight, AKeyFileTheAgentCannotReadIsAnErrorWithErrnoAndChownHint) {
  configure_secure_gossip();
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown((dir_ / "keys/host.key").c_str(), 0, 0), 0);  // root's, 0600
  }
  fs::permissions(dir_ / "keys/peers", fs::perms::all);
  fs::permissions(dir_ / "keys", fs::perms::all);
  fs::permissions(dir_ / "state", fs::perms::all);
  const std::string f = as_nobody("gossip");
  EXPECT_TRUE(has(f, "E: gossip: cannot read secret key file " + (dir_ / "keys/host.key").string())) << f;
  EXPECT_TRUE(has(f, "Permission denied")) << f;
  EXPECT_TRUE(has(f, "chown nobody: ")) << f;
}

TEST_F(Preflight, GarbageInThePeersDirectoryIsAnError) {
  configure_secure_gossip();
  write(dir_ / "keys/peers/notes.txt", "remember to add node 7\n", fs::perms::owner_read | fs::perms::owner_write);
  const std::string f = of(run(), "gossip");
  EXPECT_TRUE(has(f, "E: gossip: no valid Z85 public key in " + (dir_ / "keys/peers/notes.txt").string())) << f;
}

TEST_F(Preflight, AWildcardBindWithoutAdvertiseIsAnError) {
  config_.gossip.enabled = true;
  config_.gossip.insecure = true;
  config_.gossip.bind = "tcp://0.0.0.0:7946";
  std::string f = of(run(), "gossip");
  EXPECT_TRUE(has(f, "E: gossip: bind tcp://0.0.0.0:7946 is a wildcard; set advertise")) << f;
  config_.gossip.advertise = "tcp://10.0.0.5:7946";
  f = of(run(), "gossip");
  EXPECT_EQ(f, "");
}

TEST_F(Preflight, AStateFileTheAgentCannotReadIsAnErrorWithChownHint) {
  write(dir_ / "state" / kShapesFile, "learned shapes", fs::perms::owner_read | fs::perms::owner_write);
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown((dir_ / "state").c_str(), kNobody, kNobody), 0);  // the dir is nobody's
  }
  const std::string f = as_nobody("state_files");
  EXPECT_TRUE(has(f, "E: state.dir: cannot read saved state " + (dir_ / "state" / kShapesFile).string())) << f;
  EXPECT_TRUE(has(f, "Permission denied")) << f;
  EXPECT_TRUE(has(f, "chown -R nobody: " + (dir_ / "state").string())) << f;
}

TEST_F(Preflight, AStateDirThatIsAFileIsAnError) {
  config_.state.dir = (dir_ / "statefile").string();
  write(config_.state.dir, "", fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_TRUE(has(of(run(), "state_dir"), "E: state.dir: " + config_.state.dir + " exists and is not a directory"));
}

TEST_F(Preflight, AStateDirInUseRefusesTheStartButNotTheCheck) {
  StateDirLock running(config_.state.dir);
  EXPECT_TRUE(has(of(run(PreflightMode::Start), "state_lock"), "E: state.dir: " + config_.state.dir + " is in use"));
  const auto check = run(PreflightMode::Check);
  EXPECT_TRUE(check.ok()) << of(check, "state_lock");
  EXPECT_TRUE(has(of(check, "state_lock"), "N: state.dir:"));
}

TEST_F(Preflight, AServedSocketRefusesTheStartButNotTheCheck) {
  const int fd = listen_unix_socket(config_.api.socket, 0600, "");
  EXPECT_TRUE(has(of(run(PreflightMode::Start), "api_socket"), "E: api.socket: another agent already serves"));
  const auto check = run(PreflightMode::Check);
  EXPECT_TRUE(check.ok()) << of(check, "api_socket");
  ::close(fd);
  EXPECT_EQ(of(run(PreflightMode::Start), "api_socket"), "") << "a stale socket is replaced at start";
}

TEST_F(Preflight, ASocketPathThatIsNotASocketOrTooLongIsAnError) {
  write(config_.api.socket, "", fs::perms::owner_read);
  EXPECT_TRUE(has(of(run(), "api_socket"), "exists and is not a socket"));
  config_.api.socket = "/run/" + std::string(120, 'x') + "/api.sock";
  EXPECT_TRUE(has(of(run(), "api_socket"), "E: api.socket: path too long"));
}

TEST_F(Preflight, AMalformedMetricsListenerIsAnError) {
  config_.api.metrics_listen = "localhost:9464";
  EXPECT_TRUE(has(of(run(), "metrics_listen"), "E: api.metrics_listen: expected IPv4 host:port"));
}

TEST_F(Preflight, AForcedSamplerThatCannotRunIsAnError) {
  config_.sampler.mode = "sched_switch";
  ::setenv("ANTIPHASE_FEATURE_BTF", "0", 1);  // as if the kernel had no BTF
  const std::string f = of(run(), "sampler");
  ::unsetenv("ANTIPHASE_FEATURE_BTF");
  EXPECT_TRUE(has(f, "E: sampler.mode: sampler mode 'sched_switch' cannot run on this host")) << f;
}

TEST_F(Preflight, ReplayNeedsAReadableTrace) {
  config_.sampler.mode = "replay";
  config_.sampler.replay_file = (dir_ / "missing.csv").string();
  EXPECT_TRUE(has(of(run(), "replay_file"), "E: sampler.replay_file: cannot read"));
}

}  // namespace
