#include "agent/daemon/logging.h"

#include <cstdlib>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace antiphase::agent {

namespace {

// "<3>" .. "<7>": the sd-daemon priority prefix for the message's level.
class SyslogPriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr const char* prefixes[] = {"<7>", "<7>", "<6>", "<4>", "<3>", "<2>", "<6>"};
    const auto level = static_cast<size_t>(msg.level);
    const char* p = prefixes[level < 7 ? level : 6];
    dest.append(p, p + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<SyslogPriorityFlag>(); }
};

}  // namespace

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("antiphased");
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<SyslogPriorityFlag>('*');
  // journald timestamps lines itself; elsewhere a timestamp helps.
  const bool to_journal = std::getenv("JOURNAL_STREAM") != nullptr;
  formatter->set_pattern(to_journal ? "%*%v" : "%*%Y-%m-%dT%H:%M:%S.%eZ %l: %v");
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace antiphase::agent
