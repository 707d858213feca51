// antiphasectl's tables and connection errors, without an agent.
#include <gtest/gtest.h>

#include <cerrno>
#include <sstream>

#include "agent/ctl/api_client.h"
#include "agent/ctl/tables.h"

using namespace antiphase::ctl;
using nlohmann::json;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Kubernetes pods are functions named by their 36-character UID.
TEST(CtlTables, FunctionsTableAlignsWithPodUids) {
  const json reply = {{"sampler", "cgroup"},
                      {"functions",
                       {{{"name", "0f9d2c4e-5b7a-4c3e-9d1f-2a6b8c0e4f13"}, {"cores", 1.5}, {"cores_10s", 1.25},
                         {"instances", 1}, {"cgroups", {"/a"}}},
                        {{"name", "resize"}, {"cores", 0.5}, {"cores_10s", 0.25}, {"instances", 12}, {"cgroups", {"/b", "/c"}}}}}};
  const auto lines = lines_of(functions_table(reply));
  ASSERT_EQ(lines.size(), 4u);
  const size_t cores_end = lines[1].find("CORES") + 5;
  const size_t inst_end = lines[1].find("INST") + 4;
  for (size_t row = 2; row < 4; ++row) {
    EXPECT_EQ(lines[row].find(row == 2 ? "1.50" : "0.50") + 4, cores_end) << lines[row];
    EXPECT_EQ(lines[row].find(row == 2 ? " 1  " : "12  ") + 2, inst_end) << lines[row];
  }
  EXPECT_EQ(lines[3].substr(0, 7), "resize ");
}

TEST(CtlTables, ShortNamesKeepTheUsualWidth) {
  EXPECT_EQ(column_width({"a", "bb"}, 32), 32u);
  EXPECT_EQ(column_width({std::string(40, 'x')}, 32), 40u);
}

TEST(CtlConnect, PermissionDeniedIsToldApartFromANotRunningAgent) {
  const std::string denied = connect_failure_message("/nonexistent/api.sock", EACCES, "Couldn't connect to server");
  EXPECT_EQ(denied.rfind("permission denied on /nonexistent/api.sock: ", 0), 0u) << denied;
  EXPECT_EQ(denied.find("running"), std::string::npos) << denied;
  EXPECT_NE(connect_failure_message("/x.sock", ENOENT, "").find("no agent socket at /x.sock"), std::string::npos);
  EXPECT_NE(connect_failure_message("/x.sock", ECONNREFUSED, "").find("nothing listens on /x.sock"), std::string::npos);
}

}  // namespace
