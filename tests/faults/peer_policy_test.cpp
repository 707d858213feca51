// Who may talk to the API socket, checked from processes running as other users:
// the file mode keeps strangers from connecting at all, and SO_PEERCRED refuses
// (403) users who can connect but are not root, the agent's uid or in api.allowed_uids.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <thread>

#include "tests/bpf/cgroup_fixture.h"
#include "tests/faults/fault_support.h"
#include "tests/system/agent_process.h"

using namespace antiphase::testing;

namespace {

constexpr uid_t kStranger = 65534;  // nobody
constexpr uid_t kAllowed = 65533;

// Runs a GET /healthz as `uid` in a forked child; returns what raw_unix_exchange saw.
int healthz_as(uid_t uid, const std::string& socket) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return -100;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    int result = -99;
    if (::setgid(uid) == 0 && ::setuid(uid) == 0)
      result = raw_unix_exchange(socket, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3000);
    (void)!::write(pipe_fds[1], &result, sizeof result);
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  int result = -98;
  (void)!::read(pipe_fds[0], &result, sizeof result);
  ::close(pipe_fds[0]);
  ::waitpid(pid, nullptr, 0);
  return result;
}

class PeerPolicy : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!running_as_root() || cgroup2_mount().empty()) GTEST_SKIP() << "needs root and a cgroup2 mount";
    const std::string mount = cgroup2_mount();
    root_ = std::make_unique<ScopedCgroup>(mount, unique_cgroup_name("antiphase-faults-peer"));
    dirs_ = make_agent_dirs("faults-peer");
    // Others must be able to reach the socket file for the uid check to matter.
    std::filesystem::permissions(dirs_.dir, std::filesystem::perms::all);
  }
  void start(const std::string& socket_mode) {
    agent_ = std::make_unique<AgentProcess>(
        dirs_, "[sampler]\nmode = \"cgroup\"\n[functions]\ncgroup_roots = [\"" +
                   root_->path().substr(cgroup2_mount().size() + 1) + "\"]\n[api]\nsocket_mode = \"" + socket_mode +
                   "\"\nallowed_uids = [" + std::to_string(kAllowed) + "]\n[admission]\ncapacity_cores = 8\n");
  }
  void TearDown() override {
    agent_.reset();
    root_.reset();
    if (!dirs_.dir.empty()) std::filesystem::remove_all(dirs_.dir);
  }

  std::unique_ptr<ScopedCgroup> root_;
  AgentDirs dirs_;
  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(PeerPolicy, DefaultModeKeepsOtherUsersFromConnecting) {
  start("0660");
  struct stat st {};
  ASSERT_EQ(::stat(dirs_.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(healthz_as(kStranger, dirs_.socket()), -1) << "connect() must fail with EACCES";
  EXPECT_EQ(healthz_as(0, dirs_.socket()), 200);
}

TEST_F(PeerPolicy, PeerCredentialsDecideWhenTheSocketIsOpen) {
  start("0666");
  EXPECT_EQ(healthz_as(kStranger, dirs_.socket()), 403);
  EXPECT_EQ(healthz_as(kAllowed, dirs_.socket()), 200);
  EXPECT_EQ(healthz_as(0, dirs_.socket()), 200);
}

}  // namespace
