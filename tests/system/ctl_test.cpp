// antiphasectl as an operator uses it (issue 19, friction): --version, usage errors exit
// 2, flags after the subcommand, readable stats, errors on stderr (never in a scrape
// file), and "permission denied" when the socket's mode keeps the caller out.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>

#include "tests/bpf/cgroup_fixture.h"
#include "tests/system/agent_process.h"

using namespace antiphase::testing;
using nlohmann::json;

namespace {

class Ctl : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!running_as_root() || cgroup2_mount().empty()) return;
    dirs_ = make_agent_dirs("ctl");
    // 0666: anyone may connect, and the SO_PEERCRED policy answers 403 to nobody.
    agent_ = std::make_unique<AgentProcess>(dirs_, "[sampler]\nmode = \"cgroup\"\n[api]\nsocket_mode = \"0666\"\n");
  }
  static void TearDownTestSuite() { agent_.reset(); }
  void SetUp() override {
    if (!agent_) GTEST_SKIP() << "needs root and a cgroup2 mount";
  }
  // Runs antiphasectl (as nobody if asked) and returns its exit status; stdout and
  // stderr are captured apart.
  static int ctl(const std::string& args, std::string* out, std::string* err, bool as_nobody = false) {
    const std::string cmd = std::string(as_nobody ? "setpriv --reuid=65534 --regid=65534 --clear-groups -- " : "") +
                            ANTIPHASECTL_PATH + " " + args;
    std::string ignored;
    const int status = run_command("{ " + cmd + " 2>/dev/null; }", out ? out : &ignored);
    run_command("{ " + cmd + " 2>&1 >/dev/null; }", err ? err : &ignored);
    return status;
  }
  static std::string socket() { return " --socket " + dirs_.socket(); }

  static inline AgentDirs dirs_;
  static inline std::unique_ptr<AgentProcess> agent_;
};

TEST_F(Ctl, VersionAndUsageErrors) {
  std::string out, err;
  EXPECT_EQ(ctl("--version", &out, &err), 0);
  EXPECT_EQ(out.rfind("antiphasectl ", 0), 0u) << out;
  EXPECT_EQ(ctl("", &out, &err), 2) << "no subcommand";
  EXPECT_EQ(ctl("admit", &out, &err), 2) << "missing argument";
  EXPECT_EQ(ctl("functions --no-such-flag", &out, &err), 2);
  EXPECT_NE(err.find("--no-such-flag"), std::string::npos) << err;
  EXPECT_EQ(run_command(std::string(ANTIPHASED_PATH) + " --log-level verbose --check-config", &out), 2);
  EXPECT_NE(out.find("verbose"), std::string::npos) << out;
  EXPECT_NE(out.find("trace"), std::string::npos) << "lists the valid levels: " << out;
}

TEST_F(Ctl, FlagsAfterTheSubcommand) {
  std::string out, err;
  ASSERT_EQ(ctl("functions --json" + socket(), &out, &err), 0) << err;
  const json parsed = json::parse(out, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << out;
  EXPECT_EQ(parsed["sampler"], "cgroup");
}

TEST_F(Ctl, StatsArePrettyPrintedJson) {
  std::string out, err;
  ASSERT_EQ(ctl("stats" + socket(), &out, &err), 0) << err;
  EXPECT_FALSE(json::parse(out, nullptr, false).is_discarded()) << out;
  EXPECT_GT(std::count(out.begin(), out.end(), '\n'), 20) << out;
  EXPECT_NE(out.find("\n  \"sampler\": {"), std::string::npos) << out;
}

TEST_F(Ctl, ErrorsGoToStderr) {
  for (const std::string command : {"stats", "metrics", "functions"}) {
    std::string out, err;
    EXPECT_EQ(ctl(command + socket(), &out, &err, /*as_nobody=*/true), 2) << command;
    EXPECT_EQ(out, "") << command << " printed its error on stdout";
    EXPECT_NE(err.find("forbidden (HTTP 403)"), std::string::npos) << command << ": " << err;
  }
}

TEST_F(Ctl, PermissionDeniedIsNotIsItRunning) {
  ASSERT_EQ(::chmod(dirs_.socket().c_str(), 0660), 0);
  std::string out, err;
  const int status = ctl("functions" + socket(), &out, &err, /*as_nobody=*/true);
  ASSERT_EQ(::chmod(dirs_.socket().c_str(), 0666), 0);
  EXPECT_EQ(status, 2);
  EXPECT_NE(err.find("permission denied on " + dirs_.socket() + " (mode 0660, owner root, group root)"), std::string::npos)
      << err;
  EXPECT_EQ(err.find("is antiphased running"), std::string::npos) << err;
}

}  // namespace
