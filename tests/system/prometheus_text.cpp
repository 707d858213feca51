#include "tests/system/prometheus_text.h"

#include <cstdlib>
#include <map>
#include <regex>
#include <sstream>

namespace antiphase::testing {

std::set<std::string> parse_prometheus_text(const std::string& text, std::string* error) {
  static const std::regex help(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
  static const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*)?\})? (\S+)$)");
  std::map<std::string, std::string> types;
  std::set<std::string> helped, families;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  auto fail = [&](const std::string& why) {
    *error = "line " + std::to_string(n) + ": " + why + ": " + line;
    return families;
  };
  if (!text.empty() && text.back() != '\n') {
    *error = "text does not end with a newline";
    return families;
  }
  while (std::getline(in, line)) {
    ++n;
    std::smatch m;
    if (line.empty()) continue;
    if (std::regex_match(line, m, help)) {
      if (!helped.insert(m[1]).second) return fail("HELP repeated");
      continue;
    }
    if (std::regex_match(line, m, type)) {
      if (types.count(m[1])) return fail("TYPE repeated");
      if (!helped.count(m[1])) return fail("TYPE before HELP");
      types[m[1]] = m[2];
      if (m[2] == "counter" && m[1].str().size() > 6 && m[1].str().substr(m[1].str().size() - 6) != "_total")
        return fail("counter name must end in _total");
      families.insert(m[1]);
      continue;
    }
    if (line[0] == '#') return fail("unknown comment");
    if (!std::regex_match(line, m, sample)) return fail("malformed sample");
    if (!types.count(m[1])) return fail("sample without TYPE");
    const std::string value = m[7];
    char* end = nullptr;
    std::strtod(value.c_str(), &end);
    if (*end != '\0' && value != "NaN" && value != "+Inf" && value != "-Inf") return fail("value is not a number");
  }
  return families;
}

}  // namespace antiphase::testing
