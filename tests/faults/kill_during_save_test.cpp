// SIGKILL a real agent again and again while it saves its state, and check that what
// it leaves behind always loads: the state file is replaced atomically, so a kill at
// any moment must leave the old file or the new one, never a torn or empty one.
//
// Half of the kills are aimed: an inotify watch on the state directory fires when the
// agent creates its temp file, and the kill follows at once, so it lands while the
// new state is being written or fsync'd. The other half land at random moments
// (start-up, load, ticks, between saves).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <thread>

#include "common/shape/shape.h"
#include "tests/bpf/cgroup_fixture.h"
#include "tests/faults/fault_support.h"
#include "tests/system/agent_process.h"

using namespace antiphase::testing;

namespace {

constexpr int kKills = 60;
constexpr int kFunctions = 40;
const std::string kStateName = "shapes.bin";

bool is_temp_file(const std::string& name) { return name.rfind("." + kStateName + ".tmp-", 0) == 0; }
bool is_quarantined(const std::string& name) { return name.find(".corrupt-") != std::string::npos; }

struct LoadResult {
  bool exists = false, ok = false;
  size_t functions = 0;
  std::string error;
};

LoadResult load_state_file(const std::string& path) {
  LoadResult r;
  std::ifstream in(path, std::ios::binary);
  if (!in) return r;
  r.exists = true;
  std::stringstream bytes;
  bytes << in.rdbuf();
  std::map<std::string, antiphase::shape::ShapeModel> functions;
  antiphase::shape::ShapeModel host{antiphase::shape::ShapeConfig{}};
  r.ok = antiphase::shape::deserialize_state(bytes.str(), &functions, &host, &r.error);
  r.functions = functions.size();
  return r;
}

pid_t spawn_agent(const AgentDirs& dirs) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open((dirs.dir + "/agent.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl(ANTIPHASED_PATH, ANTIPHASED_PATH, "--config", dirs.config().c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// Waits up to `timeout_ms` for a temp state file to be created in `dir`.
bool wait_for_temp_file(int inotify_fd, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  alignas(inotify_event) char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{inotify_fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const ssize_t n = ::read(inotify_fd, buf, sizeof(buf));
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      if (ev->len > 0 && is_temp_file(ev->name)) return true;
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  return false;
}

class KillDuringSave : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!running_as_root() || cgroup2_mount().empty()) return;
    const std::string mount = cgroup2_mount();
    root_ = std::make_unique<ScopedCgroup>(mount, unique_cgroup_name("antiphase-faults-kill"));
    // Many (idle) functions make the state file big enough that a save takes a while.
    for (int i = 0; i < kFunctions; ++i)
      functions_.push_back(std::make_unique<ScopedCgroup>(root_->path(), "fn-f" + std::to_string(i) + ".scope"));
    dirs_ = make_agent_dirs("faults-kill");
    std::filesystem::create_directories(dirs_.state());
    extra_toml_ = "[sampler]\nmode = \"cgroup\"\ntick = \"50ms\"\n[functions]\ncgroup_roots = [\"" +
                  root_->path().substr(mount.size() + 1) + "\"]\ndepth = 1\nrescan = \"50ms\"\n" +
                  "[state]\nsave_interval = \"1s\"\n[admission]\ncapacity_cores = 8\n";
    // The same config AgentProcess writes (it adds the socket and the state dir).
    std::string full = extra_toml_ + "[api]\nsocket = \"" + dirs_.socket() + "\"\n";
    full.insert(full.find("[state]\n") + 8, "dir = \"" + dirs_.state() + "\"\n");
    std::ofstream(dirs_.config()) << full;
    run_kill_loop();
  }

  static void run_kill_loop() {
    std::mt19937 rng(20261126);
    std::uniform_int_distribution<int> random_delay_ms(0, 1500);
    const int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    ::inotify_add_watch(watch, dirs_.state().c_str(), IN_CREATE);
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < kKills; ++i) {
      char drain[4096];
      while (::read(watch, drain, sizeof(drain)) > 0) {
      }
      const pid_t pid = spawn_agent(dirs_);
      if (i % 2 == 0) {
        if (wait_for_temp_file(watch, 3000)) ++aimed_kills_;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(random_delay_ms(rng)));
      }
      ::kill(pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);
      if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ++killed_;
      record_what_was_left();
    }
    ::close(watch);
    loop_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }

  static void record_what_was_left() {
    const LoadResult r = load_state_file(dirs_.state() + "/" + kStateName);
    if (r.exists) ++files_seen_;
    if (r.exists && !r.ok) load_failures_.push_back(r.error);
    if (r.ok) max_functions_seen_ = std::max(max_functions_seen_, r.functions);
    size_t temps = 0;
    for (const auto& name : list_dir(dirs_.state())) temps += is_temp_file(name);
    max_temp_files_ = std::max(max_temp_files_, temps);
  }

  static void TearDownTestSuite() {
    functions_.clear();
    root_.reset();
    std::filesystem::remove_all(dirs_.dir);
  }
  void SetUp() override {
    if (!root_) GTEST_SKIP() << "needs root and a cgroup2 mount";
  }

  static inline std::unique_ptr<ScopedCgroup> root_;
  static inline std::vector<std::unique_ptr<ScopedCgroup>> functions_;
  static inline AgentDirs dirs_;
  static inline std::string extra_toml_;  // the config without socket and state dir
  static inline int killed_ = 0, aimed_kills_ = 0, files_seen_ = 0;
  static inline size_t max_functions_seen_ = 0, max_temp_files_ = 0;
  static inline std::vector<std::string> load_failures_;
  static inline double loop_seconds_ = 0;
};

TEST_F(KillDuringSave, EveryKillLeavesALoadableStateFile) {
  std::printf("%d SIGKILLs in %.1f s, %d aimed at a save in progress; state file present after %d of them\n",
              killed_, loop_seconds_, aimed_kills_, files_seen_);
  EXPECT_EQ(killed_, kKills) << "every run must end by our SIGKILL, not by an earlier exit";
  EXPECT_GE(aimed_kills_, kKills / 2 - 2) << "the agent did not start saving within 3 s of most starts";
  EXPECT_GE(files_seen_, kKills / 2) << "saves never completed: nothing was tested";
  EXPECT_TRUE(load_failures_.empty()) << load_failures_.size() << " torn state files, first: "
                                      << (load_failures_.empty() ? "" : load_failures_.front());
  EXPECT_EQ(max_functions_seen_, static_cast<size_t>(kFunctions));
}

TEST_F(KillDuringSave, AgentRestartsOnTheSurvivingStateWithoutQuarantine) {
  AgentProcess agent(dirs_, extra_toml_);
  EXPECT_NE(agent.log().find("restored " + std::to_string(kFunctions) + " function shapes"), std::string::npos)
      << agent.log();
  EXPECT_EQ(agent.terminate(), 0);
  for (const auto& name : list_dir(dirs_.state())) EXPECT_FALSE(is_quarantined(name)) << name;
  const LoadResult after = load_state_file(dirs_.state() + "/" + kStateName);
  EXPECT_TRUE(after.ok) << after.error;
  EXPECT_EQ(after.functions, static_cast<size_t>(kFunctions));
}

// A kill between creating the temp file and renaming it leaves the temp file behind;
// that cannot be avoided by the process that dies, so the next start must sweep it.
TEST_F(KillDuringSave, StaleTempFilesDoNotAccumulate) {
  std::printf("at most %zu temp files were left in the state dir during the kill loop\n", max_temp_files_);
  {
    AgentProcess agent(dirs_, extra_toml_);
    EXPECT_EQ(agent.terminate(), 0);
  }
  std::vector<std::string> temps;
  for (const auto& name : list_dir(dirs_.state()))
    if (is_temp_file(name)) temps.push_back(name);
  EXPECT_TRUE(temps.empty()) << temps.size() << " stale temp state files survive a clean start and stop, e.g. "
                             << (temps.empty() ? "" : temps.front());
}

}  // namespace
