// Load generator for the agent's local API: N threads, each with its own keep-alive
// AF_UNIX connection, send POST /v1/admit back to back (closed loop) for a fixed time
// and record every request's latency. Prints a human summary and one "RESULT {json}"
// line. Exits 1 when a request failed or the agent answered anything but 200.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "tests/bench/api/latency_stats.h"
#include "tests/bench/api/unix_http_connection.h"

namespace {

using Clock = std::chrono::steady_clock;
using antiphase::bench::UnixHttpConnection;

struct Options {
  std::string socket;
  std::string path = "/v1/admit";
  unsigned threads = 1;
  double seconds = 10;
  double warmup_seconds = 1;
  unsigned functions = 500;
  std::string prefix = "f";
  std::string get_path;  // set: GET this path instead of POST /v1/admit (baseline)
};

struct WorkerResult {
  std::vector<uint64_t> latencies_ns;
  uint64_t errors = 0, accepted = 0;
  unsigned connects = 0;
  std::string first_error;
};

// Candidates rotate over the host's functions, so every decision looks up a different
// learned shape; mean/peak size the candidate if the agent does not know it.
std::string admit_body(const Options& o, uint64_t i) {
  return "{\"function\":\"" + o.prefix + std::to_string(i % o.functions) +
         "\",\"instances\":1,\"mean_cores\":0.05,\"peak_cores\":0.2}";
}

// The agent may pretty-print, so allow whitespace between the key and the value.
bool says_accept(const std::string& body) {
  size_t at = body.find("\"accept\"");
  if (at == std::string::npos) return false;
  at = body.find_first_not_of(" \t\r\n:", at + 8);
  return at != std::string::npos && body.compare(at, 4, "true") == 0;
}

void note_error(WorkerResult& r, const std::string& what) {
  if (r.errors++ == 0) r.first_error = what;
}

void run_worker(const Options& o, unsigned index, Clock::time_point measure_from, Clock::time_point stop_at,
                WorkerResult& r) {
  try {
    UnixHttpConnection conn(o.socket);
    for (uint64_t i = index * 7919ULL;; ++i) {
      const bool get = !o.get_path.empty();
      const std::string body = get ? std::string() : admit_body(o, i);
      const auto t0 = Clock::now();
      if (t0 >= stop_at) break;
      const auto reply = get ? conn.request("GET", o.get_path, "") : conn.request("POST", o.path, body);
      const auto t1 = Clock::now();
      if (reply.status != 200) {
        note_error(r, "HTTP " + std::to_string(reply.status) + ": " + reply.body.substr(0, 200));
        continue;
      }
      if (says_accept(reply.body)) ++r.accepted;
      if (t0 >= measure_from)
        r.latencies_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    }
    r.connects = conn.connects();
  } catch (const std::exception& e) {
    note_error(r, e.what());
  }
}

int run(const Options& o) {
  std::vector<WorkerResult> results(o.threads);
  for (auto& r : results) r.latencies_ns.reserve(static_cast<size_t>(o.seconds * 100000 / o.threads));
  const auto start = Clock::now();
  const auto measure_from = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup_seconds));
  const auto stop_at = measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < o.threads; ++t)
    workers.emplace_back(run_worker, std::cref(o), t, measure_from, stop_at, std::ref(results[t]));
  for (auto& w : workers) w.join();
  const double measured_s = std::max(0.0, std::chrono::duration<double>(Clock::now() - measure_from).count());

  std::vector<uint64_t> all;
  uint64_t errors = 0, accepted = 0;
  unsigned connects = 0;
  for (auto& r : results) {
    all.insert(all.end(), r.latencies_ns.begin(), r.latencies_ns.end());
    errors += r.errors;
    accepted += r.accepted;
    connects += r.connects;
    if (!r.first_error.empty()) std::fprintf(stderr, "bench_api_client: error: %s\n", r.first_error.c_str());
  }
  const auto summary = antiphase::bench::summarize(all);
  // A run that failed before its warm-up ended measured nothing.
  const double rate = measured_s > 0 ? static_cast<double>(summary.count) / measured_s : 0.0;
  const std::string what = o.get_path.empty() ? "POST " + o.path : "GET " + o.get_path;
  std::printf("%s threads=%u over %.1fs: %.0f decisions/s, %s, errors=%llu, accepted=%llu, connects=%u\n",
              what.c_str(), o.threads, measured_s, rate, antiphase::bench::to_text(summary).c_str(),
              static_cast<unsigned long long>(errors), static_cast<unsigned long long>(accepted), connects);
  std::printf("RESULT {\"request\":\"%s\",\"threads\":%u,\"seconds\":%.2f,\"per_second\":%.0f,\"errors\":%llu,\"connects\":%u,\"latency\":%s}\n",
              what.c_str(), o.threads, measured_s, rate, static_cast<unsigned long long>(errors), connects,
              antiphase::bench::to_json(summary).c_str());
  return errors == 0 && summary.count > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Closed-loop load generator for antiphased's POST /v1/admit over its Unix socket"};
  app.add_option("--socket", o.socket, "agent API socket")->required();
  app.add_option("--threads", o.threads, "client threads, one keep-alive connection each")->check(CLI::Range(1u, 64u));
  app.add_option("--seconds", o.seconds, "measured duration")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--warmup", o.warmup_seconds, "unmeasured warm-up before it")->check(CLI::Range(0.0, 60.0));
  app.add_option("--functions", o.functions, "candidate names rotate over PREFIX0..PREFIX{N-1}")->check(CLI::Range(1u, 1000000u));
  app.add_option("--prefix", o.prefix, "candidate name prefix");
  app.add_option("--get", o.get_path, "GET this path instead (e.g. /healthz, a baseline without the decision)");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_api_client: %s\n", e.what());
    return 2;
  }
}
