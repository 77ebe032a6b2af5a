// goro-scale: how goro's costs grow with the number of goroutines.
//
//   goro-scale                 every point below, each in a fresh child process; prints a table
//   goro-scale spawn N         N goroutines spawned at once, each does wg.done(): ns per spawn
//   goro-scale idle N          N goroutines parked on one channel: RSS bytes per goroutine
//   goro-scale pingpong K      K concurrent pairs ping-ponging on unbuffered channels:
//                              ns per round trip (total round trips fixed, split over the pairs)
//
// Each point runs in its own process because stacks are pooled: a second point in the same
// process would reuse memory the first one already touched, and its RSS growth would read 0.
// RSS is the current resident set from /proc/self/statm (rss_per_g_b) and, as the peers' idle
// workload does, the peak RSS growth from getrusage (maxrss_per_g_b).
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <goro/goro.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using i64 = std::int64_t;
using clock_type = std::chrono::steady_clock;

double ns_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::nano>(clock_type::now() - t0).count();
}

long resident_bytes() {
  long size = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &size, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * sysconf(_SC_PAGESIZE);
}

long maxrss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss * 1024L;
}

unsigned max_procs() {
  if (const char* s = std::getenv("GORO_MAXPROCS")) {
    if (int p = std::atoi(s); p > 0) return static_cast<unsigned>(p);
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? hc : 1;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "FAIL %s\n", what);
  std::_Exit(1);
}

void print_point(const char* kind, i64 n, double ns_per_op, const std::string& extra) {
  std::printf("%s n=%lld ns_per_op=%.1f maxrss_kb=%ld maxprocs=%u%s\n", kind, (long long)n,
              ns_per_op, maxrss_bytes() / 1024, max_procs(), extra.c_str());
}

void point_spawn(i64 n) {
  goro::wait_group wg;
  std::atomic<i64> cnt{0};
  const auto t0 = clock_type::now();
  wg.add(static_cast<int>(n));
  for (i64 i = 0; i < n; i++)
    goro::go([&] {
      cnt.fetch_add(1, std::memory_order_relaxed);
      wg.done();
    });
  wg.wait();
  const double ns = ns_since(t0);
  if (cnt != n) fail("spawn: not every goroutine ran");
  print_point("spawn", n, ns / static_cast<double>(n), "");
}

void point_idle(i64 n) {
  auto ch = goro::make_chan<i64>();
  goro::wait_group ready, done;
  std::atomic<i64> closed_seen{0};
  const long rss0 = resident_bytes(), max0 = maxrss_bytes();
  const auto t0 = clock_type::now();
  ready.add(static_cast<int>(n));
  done.add(static_cast<int>(n));
  for (i64 i = 0; i < n; i++)
    goro::go([&] {
      ready.done();
      if (!ch.recv()) closed_seen.fetch_add(1, std::memory_order_relaxed);
      done.done();
    });
  ready.wait();
  const long rss1 = resident_bytes();  // every goroutine exists and has touched its stack
  ch.close();
  done.wait();
  const double ns = ns_since(t0);
  const long max1 = maxrss_bytes();
  if (closed_seen != n) fail("idle: not every goroutine saw the close");
  print_point("idle", n, ns / static_cast<double>(n),
              " rss_per_g_b=" + std::to_string((rss1 - rss0) / n) +
                  " maxrss_per_g_b=" + std::to_string((max1 - max0) / n));
}

void point_pingpong(i64 pairs) {
  constexpr i64 total = 1'000'000;  // round trips over all pairs
  const i64 per_pair = total / pairs;
  goro::wait_group wg;
  std::atomic<bool> ok{true};
  const auto t0 = clock_type::now();
  wg.add(static_cast<int>(2 * pairs));
  for (i64 p = 0; p < pairs; p++) {
    auto a = goro::make_chan<i64>(), b = goro::make_chan<i64>();
    goro::go([&, a, b]() mutable {
      for (i64 i = 0; i < per_pair; i++) {
        a.send(i);
        if (b.recv() != i) ok.store(false, std::memory_order_relaxed);
      }
      wg.done();
    });
    goro::go([&, a, b]() mutable {
      for (i64 i = 0; i < per_pair; i++) b.send(*a.recv());
      wg.done();
    });
  }
  wg.wait();
  const double ns = ns_since(t0);
  if (!ok) fail("pingpong: echoed value mismatch");
  print_point("pingpong", pairs, ns / static_cast<double>(per_pair * pairs),
              " round_trips=" + std::to_string(per_pair * pairs));
}

struct point {
  const char* kind;
  i64 n;
};

const point all_points[] = {
    {"spawn", 10'000},    {"spawn", 30'000},   {"spawn", 100'000}, {"spawn", 300'000},
    {"spawn", 1'000'000}, {"idle", 10'000},    {"idle", 30'000},   {"idle", 100'000},
    {"idle", 300'000},    {"idle", 1'000'000}, {"pingpong", 1},    {"pingpong", 10},
    {"pingpong", 100},    {"pingpong", 1'000},
};

std::string field(const std::string& line, const std::string& key) {
  const std::string k = " " + key + "=";
  auto at = line.find(k);
  if (at == std::string::npos) return "-";
  at += k.size();
  return line.substr(at, line.find_first_of(" \n", at) - at);
}

// Runs every point in a child process (see the header comment) and prints one table.
int run_all(const char* self) {
  std::printf("# goro-scale maxprocs=%u; one fresh process per row\n", max_procs());
  std::printf("%-9s %9s %12s %12s %14s %11s\n", "kind", "n", "ns_per_op", "rss_per_g_b",
              "maxrss_per_g_b", "maxrss_kb");
  int rc = 0;
  for (const point& p : all_points) {
    const std::string cmd = std::string(self) + " " + p.kind + " " + std::to_string(p.n);
    std::string line;
    if (std::FILE* f = popen(cmd.c_str(), "r")) {
      char buf[512];
      while (std::fgets(buf, sizeof buf, f)) line += buf;
      if (pclose(f) != 0) line.clear();
    }
    if (line.empty()) {
      std::printf("%-9s %9lld %12s\n", p.kind, (long long)p.n, "FAIL");
      rc = 1;
      continue;
    }
    std::printf("%-9s %9lld %12s %12s %14s %11s\n", p.kind, (long long)p.n,
                field(line, "ns_per_op").c_str(), field(line, "rss_per_g_b").c_str(),
                field(line, "maxrss_per_g_b").c_str(), field(line, "maxrss_kb").c_str());
    std::fflush(stdout);
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 1) {
    std::vector<char> self(4096);
    const ssize_t len = readlink("/proc/self/exe", self.data(), self.size() - 1);
    return run_all(len > 0 ? self.data() : argv[0]);
  }
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s [spawn|idle|pingpong N]\n", argv[0]);
    return 2;
  }
  const std::string kind = argv[1];
  char* end = nullptr;
  const i64 n = std::strtoll(argv[2], &end, 10);
  if (*end || n < 1 || n > (1 << 30)) {
    std::fprintf(stderr, "bad N: %s\n", argv[2]);
    return 2;
  }
  void (*fn)(i64) = kind == "spawn"      ? point_spawn
                    : kind == "idle"     ? point_idle
                    : kind == "pingpong" ? point_pingpong
                                         : nullptr;
  if (!fn) {
    std::fprintf(stderr, "unknown kind: %s\n", argv[1]);
    return 2;
  }
  goro::run([&] { fn(n); });
  std::fflush(stdout);
  return 0;
}
