#include "agent/ctl/tables.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

namespace antiphase::ctl {

namespace {
constexpr size_t kMinNameWidth = 32;  // what the table always had; longer names widen it

std::string left(const std::string& text, size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

std::string right(const std::string& text, size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}
}  // namespace

std::string fixed(double v, int digits) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(digits) << v;
  return os.str();
}

size_t column_width(const std::vector<std::string>& names, size_t minimum) {
  size_t width = minimum;
  for (const auto& n : names) width = std::max(width, n.size());
  return width;
}

std::string functions_table(const nlohmann::json& reply) {
  const auto& functions = reply["functions"];
  std::vector<std::string> names;
  for (const auto& f : functions) names.push_back(f["name"].get<std::string>());
  const size_t w = column_width(names, kMinNameWidth);
  std::ostringstream out;
  out << "sampler: " << reply["sampler"].get<std::string>() << "   functions: " << functions.size() << "\n";
  out << left("FUNCTION", w) << ' ' << right("CORES", 8) << ' ' << right("10s", 8) << ' ' << right("INST", 5) << "  CGROUPS\n";
  for (const auto& f : functions) {  // already sorted by CPU, like top
    std::string cgroups;
    for (const auto& c : f["cgroups"]) cgroups += (cgroups.empty() ? "" : ",") + c.get<std::string>();
    out << left(f["name"].get<std::string>(), w) << ' ' << right(fixed(f["cores"].get<double>()), 8) << ' '
        << right(fixed(f["cores_10s"].get<double>()), 8) << ' ' << right(std::to_string(f["instances"].get<unsigned>()), 5)
        << "  " << cgroups << "\n";
  }
  return out.str();
}

}  // namespace antiphase::ctl
