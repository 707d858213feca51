#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "agent/trace/trace_reader.h"

namespace antiphase::replay {
namespace {

const char* kGood =
    "timestamp,function,cpu\n"
    "1000,a,0.5\n"
    "1000,b,1.25\r\n"
    "\n"
    "1300,a,0.75\n"
    "1300.9,b,1\n";

TEST(TraceReader, ParsesRowsAndInternsFunctions) {
  const Trace t = parse_trace_text(kGood);
  ASSERT_EQ(t.rows.size(), 4u);
  ASSERT_EQ(t.functions.size(), 2u);
  EXPECT_EQ(t.functions[0], "a");
  EXPECT_EQ(t.rows[1].function, 1u);
  EXPECT_FLOAT_EQ(t.rows[1].cpu, 1.25f);
  EXPECT_EQ(t.rows[2].function, 0u);
  EXPECT_EQ(t.rows[3].timestamp, 1300);  // fractional seconds floored
  EXPECT_EQ(t.lines, 6u);
}

TEST(TraceReader, AnyHeaderOnTheFirstLineIsSkippedAndOnlyThere) {
  EXPECT_EQ(parse_trace_text("ts,vm,cores\r\n1,a,0.5\n").rows.size(), 1u) << "an exporter's own column names";
  EXPECT_EQ(parse_trace_text("timestamp,function,cpu\n1,a,0.5\n").rows.size(), 1u);
  EXPECT_THROW(parse_trace_text("x1,a,0.5\n"), TraceError) << "a number in the last field: a bad row, not a header";
  EXPECT_THROW(parse_trace_text("1,a,0.5\nts,vm,cores\n"), TraceError) << "only the first line";
}

TEST(TraceReader, WindowFilterKeepsOnlyRowsInside) {
  ReadOptions o;
  o.from = 1300;
  const Trace t = parse_trace_text(kGood, "<text>", o);
  EXPECT_EQ(t.rows.size(), 2u);
}

struct BadRow {
  const char* text;
  uint64_t line;
  const char* words;
};

TEST(TraceReader, BadRowsReportTheirLineNumber) {
  const BadRow cases[] = {
      {"timestamp,function,cpu\n1,a,0.1\n2,a,abc\n", 3, "bad cpu value \"abc\""},
      {"1,a,0.1\n2,a\n", 2, "expected 3 comma-separated fields"},
      {"1,a,0.1\n2,a,0.1,9\n", 2, "expected 3 comma-separated fields"},
      {"1,a,0.1\n\nx1,a,0.1\n", 3, "bad timestamp"},
      {"1,a,-0.5\n", 1, "negative cpu"},
      {"1,,0.5\n", 1, "empty function id"},
      {"1,a,nan\n", 1, "bad cpu value"},
      {"1,a,0.1\ntimestamp,function,cpu\n", 2, "bad timestamp"},  // header only allowed first
      {"1600000000,a,0.1\n1600000000000,a,0.1\n", 2, "milliseconds?"},  // an exporter's unit
      {"1600000000300.5,a,0.1\n", 1, "after the year 3000"},
  };
  for (const BadRow& c : cases) {
    try {
      parse_trace_text(c.text, "t.csv");
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const TraceError& e) {
      EXPECT_EQ(e.line(), c.line) << c.text;
      EXPECT_NE(std::string(e.what()).find("t.csv:" + std::to_string(c.line) + ": "), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.words), std::string::npos) << e.what();
    }
  }
}

class TraceFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("antiphase-replay-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(TraceFiles, ReadsPlainAndGzipIdentically) {
  const auto plain = dir_ / "t.csv";
  std::ofstream(plain) << kGood;
  const auto packed = dir_ / "t.csv.gz";
  gzFile gz = gzopen(packed.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  gzwrite(gz, kGood, static_cast<unsigned>(std::strlen(kGood)));
  gzclose(gz);

  const Trace a = read_trace(plain.string());
  const Trace b = read_trace(packed.string());
  ASSERT_EQ(a.rows.size(), 4u);
  ASSERT_EQ(b.rows.size(), a.rows.size());
  for (size_t i = 0; i < a.rows.size(); ++i) {
    EXPECT_EQ(a.rows[i].timestamp, b.rows[i].timestamp);
    EXPECT_EQ(a.rows[i].cpu, b.rows[i].cpu);
  }
}

TEST_F(TraceFiles, GzipErrorsStillCarryLineNumbers) {
  const auto packed = dir_ / "bad.csv.gz";
  gzFile gz = gzopen(packed.c_str(), "wb");
  const std::string text = "1,a,0.1\n2,a,0.2\n3,a,oops\n";
  gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
  gzclose(gz);
  try {
    read_trace(packed.string());
    FAIL();
  } catch (const TraceError& e) {
    EXPECT_EQ(e.line(), 3u);
  }
}

TEST_F(TraceFiles, TruncatedGzipAndMissingFileAreClearErrors) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += std::to_string(i) + ",fn" + std::to_string(i % 7) + ",0.25\n";
  const auto packed = dir_ / "t.csv.gz";
  gzFile gz = gzopen(packed.c_str(), "wb");
  gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
  gzclose(gz);
  const auto size = std::filesystem::file_size(packed);
  std::filesystem::resize_file(packed, size / 2);
  EXPECT_THROW(read_trace(packed.string()), std::runtime_error);
  EXPECT_THROW(read_trace((dir_ / "missing.csv").string()), std::runtime_error);
}

}  // namespace
}  // namespace antiphase::replay
