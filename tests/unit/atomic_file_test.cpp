#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "agent/state/atomic_file.h"

using namespace antiphase::agent;
namespace fs = std::filesystem;

TEST(AtomicFile, WritesReplacesAndLeavesNoTempFiles) {
  const fs::path dir = fs::temp_directory_path() / ("antiphase-atomic-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string path = (dir / "state.bin").string();
  EXPECT_FALSE(read_whole_file(path));
  write_file_atomically(path, "first", 0600);
  write_file_atomically(path, std::string("sec\0ond", 7), 0600);
  EXPECT_EQ(*read_whole_file(path), std::string("sec\0ond", 7));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
  const std::string aside = quarantine_file(path, 1234);
  EXPECT_EQ(aside, path + ".corrupt-1234");
  EXPECT_FALSE(read_whole_file(path));
  EXPECT_TRUE(fs::exists(aside));
  fs::remove_all(dir);
}

TEST(AtomicFile, ErrorNamesThePath) {
  try {
    write_file_atomically("/proc/antiphase-cannot/x", "data");
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/antiphase-cannot"), std::string::npos) << e.what();
  }
}
