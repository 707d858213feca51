#pragma once
// The state directory belongs to one agent at a time, and a state file the agent cannot
// read is never replaced: a second instance or a permission problem must not destroy
// what the first one learned.
#include <optional>
#include <string>

namespace antiphase::agent {

// The files the agent keeps in state.dir.
inline constexpr const char* kShapesFile = "shapes.bin";           // learned profiles
inline constexpr const char* kGenerationFile = "gossip.generation";  // gossip incarnation

// An exclusive flock(2) on the state directory itself, held for the object's life (the
// kernel drops it when the process dies, so a crash never leaves a stale lock). Taken
// before the agent reads or writes any state file, gossip.generation included.
class StateDirLock {
 public:
  // Creates the directory if it is missing, then locks it without waiting. Throws
  // std::runtime_error saying that another antiphased holds it, or why the directory
  // cannot be created or opened.
  explicit StateDirLock(const std::string& dir);
  ~StateDirLock();
  StateDirLock(const StateDirLock&) = delete;
  StateDirLock& operator=(const StateDirLock&) = delete;

 private:
  int fd_ = -1;
};

// True when another process holds the state directory's lock right now. Changes
// nothing (a missing or unopenable directory is simply "not locked").
bool state_dir_in_use(const std::string& dir);

// The message for a state directory another agent holds.
std::string state_dir_in_use_message(const std::string& dir);

// Why the existing state file `path` cannot be read, with the fix; nullopt when it is
// readable or does not exist.
std::optional<std::string> unreadable_state_file(const std::string& path);

// "chown -R antiphase: DIR", naming the effective user: the fix when a manual run as
// root left files the service user cannot read or replace.
std::string chown_hint(const std::string& dir);

}  // namespace antiphase::agent
