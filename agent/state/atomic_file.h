#pragma once
// Crash-safe file replacement: write a temp file in the same directory, fsync it,
// rename it over the target, fsync the directory. A reader sees the old file or the
// new one, never a mix, whatever moment the process or machine dies.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace antiphase::agent {

// Throws std::runtime_error naming the path and the failing step.
void write_file_atomically(const std::string& path, std::string_view contents, unsigned mode = 0640);

// nullopt if the file does not exist; throws on other read errors.
std::optional<std::string> read_whole_file(const std::string& path);

// Removes temp files a crash left between write and rename (".<name>.tmp-*" next to
// `path`). Returns how many were removed.
size_t remove_stale_temp_files(const std::string& path);

// Renames a bad file aside as "<path>.corrupt-<unix seconds>" and returns the new name.
std::string quarantine_file(const std::string& path, long long unix_s);

}  // namespace antiphase::agent
