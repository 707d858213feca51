#pragma once
// Logging to stderr in a journald-friendly form: every line starts with the syslog
// priority as "<N>" (sd-daemon(3)), so journald files it at the right level; when
// stderr is not the journal, lines also carry a UTC timestamp.
#include <string>

namespace antiphase::agent {

// Installs the default logger. `level` is trace|debug|info|warn|error.
void setup_logging(const std::string& level);

}  // namespace antiphase::agent
