#include "agent/daemon/preflight.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "agent/api/http_server.h"
#include "agent/daemon/usage_feed.h"
#include "agent/gossip/gossip_agent.h"
#include "agent/gossip/gossip_config.h"
#include "agent/registry/cgroup_fs.h"
#include "agent/registry/registry.h"
#include "agent/state/state_dir.h"

namespace antiphase::agent {

namespace {

constexpr int kCapChown = 0;

// The findings of one named check.
class Findings {
 public:
  Findings(PreflightReport& report, const char* check) : report_(report), check_(check) {}
  void error(const std::string& message) { report_.error(check_, message); }
  void warning(const std::string& message) { report_.warning(check_, message); }
  void note(const std::string& message) { report_.note(check_, message); }

 private:
  PreflightReport& report_;
  const char* check_;
};

using CheckFn = void (*)(const config::Config&, const PreflightContext&, Findings&);

bool replaying(const config::Config& c) { return c.sampler.mode == "replay"; }

std::optional<std::string> cgroup2_mount_of(const PreflightContext& ctx) {
  return ctx.cgroup2_mount ? ctx.cgroup2_mount : find_cgroup2_mount();
}

bool is_within(const std::string& path, const std::string& dir) {
  const std::string p = std::filesystem::path(path).lexically_normal().string();
  std::string d = std::filesystem::path(dir).lexically_normal().string();
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return p == d || (p.size() > d.size() && p.compare(0, d.size(), d) == 0 && (d == "/" || p[d.size()] == '/'));
}

// The closest ancestor of `path` (or path itself) that exists: where a missing
// directory would be created.
std::string nearest_existing(const std::string& path) {
  std::filesystem::path p = std::filesystem::path(path).lexically_normal();
  std::error_code ec;
  while (!p.empty() && p != p.root_path() && !std::filesystem::exists(p, ec)) p = p.parent_path();
  return p.empty() ? std::string(".") : p.string();
}

// access(2) with the effective ids, as the agent's own open/create calls are judged.
std::optional<std::string> not_accessible(const std::string& path, int how) {
  if (::faccessat(AT_FDCWD, path.c_str(), how, AT_EACCESS) == 0) return std::nullopt;
  return std::string(std::strerror(errno));
}

// --- the checks, in the order the start meets them ---

void check_cgroup2_mount(const config::Config& c, const PreflightContext& ctx, Findings& out) {
  if (replaying(c)) return;
  if (!cgroup2_mount_of(ctx)) out.error("no cgroup2 filesystem is mounted (looked in /proc/self/mountinfo)");
}

void check_function_pattern(const config::Config& c, const PreflightContext&, Findings& out) {
  try {
    compile_function_pattern(c.functions.pattern);
  } catch (const std::exception& e) {
    out.error(e.what());
  }
}

void check_one_root(const std::string& root, const std::string& mount, Findings& out) {
  const std::string path = resolve_cgroup_root(mount, root);
  const std::string named = "functions.cgroup_roots: \"" + root + "\" (" + path + ")";
  if (!is_within(path, mount)) {
    out.error(named + " is outside the cgroup2 filesystem mounted at " + mount +
              "; give a path relative to that mount, or an absolute path below it");
    return;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT)
      out.warning(named + " does not exist yet; the agent starts without it, lists it in missing_roots "
                          "(antiphasectl stats) and measures the functions below it once it appears "
                          "(systemd creates a slice when its first unit starts)");
    else
      out.error(named + ": " + std::strerror(errno));
    return;
  }
  struct statfs fs {};
  if (!S_ISDIR(st.st_mode))
    out.error(named + " is not a directory");
  else if (::statfs(path.c_str(), &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC)
    out.error(named + " is not on the cgroup2 filesystem (a cgroup v1 hierarchy or another mount below " + mount + ")");
}

void check_cgroup_roots(const config::Config& c, const PreflightContext& ctx, Findings& out) {
  if (replaying(c)) return;
  const auto mount = cgroup2_mount_of(ctx);
  if (!mount) return;  // check_cgroup2_mount said so
  for (const auto& root : c.functions.cgroup_roots) check_one_root(root, *mount, out);
}

// Builds the sampler the start will build (loading eBPF if the mode asks for it) and
// throws it away: a forced mode that cannot run fails here, and `auto` says what it
// picks and why — under the unit's ExecStartPre that is what the service itself gets.
void check_sampler(const config::Config& c, const PreflightContext&, Findings& out) {
  if (replaying(c)) return;
  try {
    FeatureProbe features;
    std::string reason;
    make_sampler(sampler_options_from(c), features, &reason);
    out.note(reason);
  } catch (const std::exception& e) {
    out.error(std::string("sampler.mode: ") + e.what());
  }
}

void check_replay_file(const config::Config& c, const PreflightContext&, Findings& out) {
  if (!replaying(c)) return;
  if (c.sampler.replay_file.empty()) {
    out.error("sampler.replay_file: required when sampler.mode = \"replay\"");
    return;
  }
  if (const auto why = not_accessible(c.sampler.replay_file, R_OK))
    out.error("sampler.replay_file: cannot read " + c.sampler.replay_file + ": " + *why);
}

void check_state_dir(const config::Config& c, const PreflightContext&, Findings& out) {
  const std::string& dir = c.state.dir;
  if (dir.empty()) {
    out.error("state.dir: must not be empty");
    return;
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      out.error("state.dir: " + dir + " exists and is not a directory");
    else if (const auto why = not_accessible(dir, R_OK | W_OK | X_OK))
      out.error("state.dir: " + dir + " is not writable: " + *why + "; fix: " + chown_hint(dir));
    return;
  }
  const std::string parent = nearest_existing(dir);
  if (const auto why = not_accessible(parent, W_OK | X_OK))
    out.error("state.dir: " + dir + " does not exist and cannot be created in " + parent + ": " + *why);
}

void check_state_files(const config::Config& c, const PreflightContext&, Findings& out) {
  if (c.state.dir.empty()) return;
  std::vector<std::string> files{c.state.dir + "/" + kShapesFile};
  if (c.gossip.enabled) files.push_back(c.state.dir + "/" + kGenerationFile);
  for (const auto& file : files)
    if (const auto problem = unreadable_state_file(file)) out.error("state.dir: " + *problem);
}

void check_state_dir_free(const config::Config& c, const PreflightContext& ctx, Findings& out) {
  if (c.state.dir.empty() || !state_dir_in_use(c.state.dir)) return;
  if (ctx.mode == PreflightMode::Start)
    out.error(state_dir_in_use_message(c.state.dir));
  else
    out.note("state.dir: " + c.state.dir + " is in use by a running antiphased (fine for a check; a second instance would be refused)");
}

void check_api_socket(const config::Config& c, const PreflightContext& ctx, Findings& out) {
  const std::string& path = c.api.socket;
  const UnixSocketPath state = inspect_unix_socket_path(path);
  if (state == UnixSocketPath::Served && ctx.mode == PreflightMode::Check) {
    out.note("api.socket: a running agent serves " + path + " (fine for a check; a second instance would be refused)");
    return;
  }
  if (const std::string problem = unix_socket_path_problem(path, state); !problem.empty()) {
    out.error(problem);
    return;
  }
  const std::string dir = nearest_existing(std::filesystem::path(path).parent_path().string());
  if (const auto why = not_accessible(dir, W_OK | X_OK))
    out.error("api.socket: cannot create " + path + " (in " + dir + "): " + *why);
}

void check_socket_group(const config::Config& c, const PreflightContext& ctx, Findings& out) {
  const std::string& group = c.api.socket_group;
  if (group.empty()) return;
  gid_t gid = 0;
  try {
    gid = socket_group_id(group);
  } catch (const std::exception& e) {
    out.error(e.what());
    return;
  }
  if (ctx.credentials.can_chown || ctx.credentials.member_of(gid)) return;
  out.error("api.socket_group: the agent (uid " + std::to_string(ctx.credentials.euid) + ") is not a member of group \"" +
            group + "\"; " + socket_group_membership_hint(group));
}

void check_metrics_listen(const config::Config& c, const PreflightContext&, Findings& out) {
  if (c.api.metrics_listen.empty()) return;
  try {
    parse_metrics_listen(c.api.metrics_listen);
  } catch (const std::exception& e) {
    out.error(e.what());
  }
}

// The gossip agent validates its whole config (timing, bind/advertise, keys, their
// modes, the allowlist directory, seeds, the loopback rule) when it is constructed,
// before it binds anything or touches gossip.generation.
void check_gossip(const config::Config& c, const PreflightContext&, Findings& out) {
  if (!c.gossip.enabled) return;
  try {
    gossip::GossipAgent validated(gossip_config_from(c));
  } catch (const std::exception& e) {
    out.error(e.what());
  }
}

// An operator who runs --check-config as root checks root's access, not the service
// user's; the unit's ExecStartPre runs the same check as the service.
void check_who_checks(const config::Config&, const PreflightContext& ctx, Findings& out) {
  if (ctx.mode != PreflightMode::Check || ctx.credentials.euid != 0) return;
  out.note("checked as root: files, keys and groups were judged for root, not for the service user; the unit runs "
           "this check as the service (ExecStartPre), or run it yourself as: runuser -u antiphase -- antiphased "
           "--check-config --config FILE");
}

struct NamedCheck {
  const char* name;
  CheckFn run;
};

constexpr NamedCheck kChecks[] = {
    {"cgroup2", check_cgroup2_mount},
    {"pattern", check_function_pattern},
    {"cgroup_roots", check_cgroup_roots},
    {"sampler", check_sampler},
    {"replay_file", check_replay_file},
    {"state_dir", check_state_dir},
    {"state_files", check_state_files},
    {"state_lock", check_state_dir_free},
    {"api_socket", check_api_socket},
    {"socket_group", check_socket_group},
    {"metrics_listen", check_metrics_listen},
    {"gossip", check_gossip},
    {"identity", check_who_checks},
};

bool has_effective_capability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

}  // namespace

ProcessCredentials ProcessCredentials::current() {
  ProcessCredentials c;
  c.euid = ::geteuid();
  c.egid = ::getegid();
  const int n = ::getgroups(0, nullptr);
  if (n > 0) {
    c.supplementary_groups.resize(static_cast<size_t>(n));
    const int got = ::getgroups(n, c.supplementary_groups.data());
    c.supplementary_groups.resize(got > 0 ? static_cast<size_t>(got) : 0);
  }
  c.can_chown = has_effective_capability(kCapChown);
  return c;
}

bool ProcessCredentials::member_of(gid_t gid) const {
  return egid == gid || std::find(supplementary_groups.begin(), supplementary_groups.end(), gid) != supplementary_groups.end();
}

size_t PreflightReport::count(Severity severity) const {
  return static_cast<size_t>(
      std::count_if(findings_.begin(), findings_.end(), [&](const auto& f) { return f.severity == severity; }));
}

std::vector<PreflightFinding> PreflightReport::of(const std::string& check) const {
  std::vector<PreflightFinding> out;
  for (const auto& f : findings_)
    if (f.check == check) out.push_back(f);
  return out;
}

PreflightReport preflight(const config::Config& config, const PreflightContext& context) {
  PreflightReport report;
  for (const auto& check : kChecks) {
    Findings findings(report, check.name);
    check.run(config, context, findings);
  }
  return report;
}

}  // namespace antiphase::agent
