#pragma once
// The agent's incarnation number, persisted so a restart always gossips a higher
// generation than the previous run (peers then replace the old incarnation's state).
#include <cstdint>
#include <string>

namespace antiphase::agent::gossip {

// Reads <state_dir>/gossip.generation, adds one, writes it back atomically (temp file,
// fsync, rename, fsync directory) and returns the new value. A missing file starts at 1.
// An unreadable/corrupt file falls back to the current unix time in seconds, which is
// larger than any counter a sane previous run could have reached. Empty state_dir:
// unix time, not persisted. Throws std::runtime_error if the directory is not writable.
uint64_t bump_generation(const std::string& state_dir);

}  // namespace antiphase::agent::gossip
