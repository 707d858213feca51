#include "agent/registry/registry.h"

#include <dirent.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "agent/registry/cgroup_fs.h"

namespace antiphase::agent {

std::string resolve_cgroup_root(const std::string& mount, const std::string& root) {
  if (!root.empty() && root.front() == '/') return root;
  std::string path = mount;
  if (!root.empty()) path += "/" + root;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::regex compile_function_pattern(const std::string& pattern) {
  std::regex re;
  try {
    re = std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw std::invalid_argument("functions.pattern \"" + pattern + "\" is not a valid regex: " + e.what());
  }
  if (re.mark_count() < 1)
    throw std::invalid_argument("functions.pattern \"" + pattern +
                                "\" has no capture group; put the function name in one, e.g. ^fn-(.+)\\.scope$");
  return re;
}

std::string unescape_systemd_name(const std::string& name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '\\' && i + 3 < name.size() && name[i + 1] == 'x' && std::isxdigit(static_cast<unsigned char>(name[i + 2])) &&
        std::isxdigit(static_cast<unsigned char>(name[i + 3]))) {
      out.push_back(static_cast<char>(std::stoi(name.substr(i + 2, 2), nullptr, 16)));
      i += 3;
    } else {
      out.push_back(name[i]);
    }
  }
  return out;
}

namespace {

std::vector<std::string> subdirectories(const std::string& path) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(path.c_str());
  if (!dir) return names;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (e->d_type == DT_UNKNOWN && !std::filesystem::is_directory(path + "/" + name)) continue;
    names.push_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

CgroupRegistry::CgroupRegistry(RegistryOptions options)
    : options_(std::move(options)), pattern_(compile_function_pattern(options_.pattern)) {
  for (const auto& root : options_.roots) resolved_roots_.push_back(resolve_cgroup_root(options_.cgroup2_mount, root));
  rescan();
}

const std::string* CgroupRegistry::match_function(const std::string& dir_name, uint32_t depth,
                                                  std::map<std::string, FunctionCgroups>& fns,
                                                  const std::string& path) {
  if (options_.depth != 0 && depth != options_.depth) return nullptr;
  std::smatch m;
  if (!std::regex_search(dir_name, m, pattern_) || !m[1].matched || m[1].length() == 0) return nullptr;
  const std::string name = unescape_systemd_name(m[1].str());
  auto& fn = fns[name];
  fn.name = name;
  fn.instance_paths.push_back(path);
  return &fn.name;
}

void CgroupRegistry::walk(const std::string& path, uint32_t depth, const std::string* owner,
                          std::vector<WatchedCgroup>& out, std::map<std::string, FunctionCgroups>& fns) {
  for (const auto& name : subdirectories(path)) {
    const std::string child = path + "/" + name;
    const std::string* child_owner = owner;
    bool is_root = false;
    if (!owner) {
      child_owner = match_function(name, depth + 1, fns, child);
      is_root = child_owner != nullptr;
    }
    if (child_owner) {
      if (const auto id = cgroup_id_of(child)) {
        out.push_back({*id, child, is_root});
        fns[*child_owner].cgroup_ids.push_back(*id);
      }
    }
    // Below the function depth nothing new can match, unless we are inside a function.
    const bool deeper_can_match = options_.depth == 0 || depth + 1 < options_.depth;
    if (child_owner || deeper_can_match) walk(child, depth + 1, child_owner, out, fns);
  }
}

bool CgroupRegistry::rescan() {
  std::vector<WatchedCgroup> watched;
  std::map<std::string, FunctionCgroups> fns;
  std::vector<std::string> missing;
  for (const auto& root : resolved_roots_) {
    if (!std::filesystem::is_directory(root)) {
      missing.push_back(root);
      continue;
    }
    walk(root, 0, nullptr, watched, fns);
  }
  if (scanned_once_) log_root_changes(missing);
  scanned_once_ = true;
  missing_roots_ = std::move(missing);
  std::sort(watched.begin(), watched.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  const bool changed = watched.size() != watched_.size() ||
                       !std::equal(watched.begin(), watched.end(), watched_.begin(),
                                   [](const auto& a, const auto& b) { return a.id == b.id && a.path == b.path; });
  watched_ = std::move(watched);
  functions_ = std::move(fns);
  owner_of_.clear();
  for (auto& [name, fn] : functions_) {
    std::sort(fn.instance_paths.begin(), fn.instance_paths.end());
    for (uint64_t id : fn.cgroup_ids) owner_of_[id] = name;
  }
  return changed;
}

void CgroupRegistry::log_root_changes(const std::vector<std::string>& missing_now) const {
  const auto was_missing = [this](const std::string& r) {
    return std::find(missing_roots_.begin(), missing_roots_.end(), r) != missing_roots_.end();
  };
  const auto is_missing = [&](const std::string& r) {
    return std::find(missing_now.begin(), missing_now.end(), r) != missing_now.end();
  };
  for (const auto& root : resolved_roots_) {
    if (is_missing(root) && !was_missing(root))
      spdlog::warn("functions.cgroup_roots: {} vanished; its functions are not measured until it comes back", root);
    if (!is_missing(root) && was_missing(root))
      spdlog::info("functions.cgroup_roots: {} appeared; measuring the functions below it", root);
  }
}

const std::string* CgroupRegistry::function_of(uint64_t cgroup_id) const {
  const auto it = owner_of_.find(cgroup_id);
  return it == owner_of_.end() ? nullptr : &it->second;
}

}  // namespace antiphase::agent
