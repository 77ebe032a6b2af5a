// goro-bench: the workloads of ../shared/peers/SPEC.md on goro, with the peers' CLI, output
// line and validation. goro plugs in as one more runtime policy of the shared workloads.hpp, so
// the Go, Boost.Fiber, threads and goro columns of bench/compare.sh time identical code. The
// three workloads of the OS boundary (syscall, blocking, hog) exist only in Go's peer; they
// are written here after gobench's, with goro::blocking() where Go enters its syscall state.
//
//   goro-bench WORKLOAD [N]        GORO_MAXPROCS=P selects the worker count (default: #cores)
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <goro/goro.hpp>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "common/workloads.hpp"

namespace {

struct GoroRT {
  struct Runtime {};  // nothing to set up: bench_main already runs as goroutine 1 inside run()

  template <class T>
  class Chan {
   public:
    explicit Chan(std::size_t cap) : ch_(goro::make_chan<T>(cap)) {}

    // The workloads want Boost-style "false once closed" instead of Go's panic. Only the
    // sieve's untimed shutdown takes the throwing path, so its cost never enters a timing.
    bool send(T v) {
      try {
        ch_.send(std::move(v));
        return true;
      } catch (const goro::panic_error&) {
        return false;
      }
    }
    bool recv(T& out) {
      std::optional<T> v = ch_.recv();
      if (!v) return false;
      out = std::move(*v);
      return true;
    }
    void close() { ch_.close(); }
    const goro::chan<T>& handle() const { return ch_; }

   private:
    goro::chan<T> ch_;
  };

  // A real two-case select. A channel found closed is replaced by a nil channel, whose case is
  // never ready again: Go's nil-channel trick, exactly what gobench does.
  template <class T>
  class Select2 {
   public:
    Select2(Chan<T>& a, Chan<T>& b) : c_{a.handle(), b.handle()} {}

    std::pair<int, bool> recv(T& out) {
      bool ok = false;
      auto take = [&](std::optional<T> v) {
        if (v) {
          out = std::move(*v);
          ok = true;
        }
      };
      const int i =
          static_cast<int>(goro::select(goro::on_recv(c_[0], take), goro::on_recv(c_[1], take)));
      if (!ok) c_[i] = goro::chan<T>{};
      return {i, ok};
    }

   private:
    goro::chan<T> c_[2];
  };

  class WaitGroup {
   public:
    void add(i64 k) {
      // goro::wait_group::add takes an int, like Go's Add; split huge counts.
      while (k > 0) {
        const int step = k > (1 << 30) ? (1 << 30) : static_cast<int>(k);
        wg_.add(step);
        k -= step;
      }
    }
    void done() { wg_.done(); }
    void wait() { wg_.wait(); }

   private:
    goro::wait_group wg_;
  };

  template <class F>
  static void spawn(F&& f) {
    goro::go(std::forward<F>(f));
  }
  static void sleep_ms(int ms) { goro::sleep_for(std::chrono::milliseconds(ms)); }
  static i64 max_n(const std::string&) { return INT64_MAX; }
};

// The worker count the runtime picks with default options: $GORO_MAXPROCS or #cores.
unsigned max_procs() {
  if (const char* s = std::getenv("GORO_MAXPROCS")) {
    if (int p = std::atoi(s); p > 0) return static_cast<unsigned>(p);
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? hc : 1;
}

// syscall: 4 goroutines make N getppid calls in all, each through goro::blocking().
Result syscall_short(i64 n) {
  constexpr int k = 4;
  n -= n % k;
  const pid_t want = getppid();
  goro::wait_group wg;
  std::atomic<i64> bad{0};
  wg.add(k);
  Timer t;
  for (int g = 0; g < k; g++) {
    goro::go([&] {
      i64 wrong = 0;
      for (i64 i = 0; i < n / k; i++) wrong += goro::blocking([] { return getppid(); }) != want;
      bad.fetch_add(wrong);
      wg.done();
    });
  }
  wg.wait();
  double ns = t.ns();
  check(bad.load() == 0, "syscall: getppid returned another value");
  return {n, ns, ""};
}

// syscall_raw: the floor syscall is measured against: N getppid calls in all from two plain
// threads (one per core on the 2-core machines), no runtime involved.
Result syscall_raw(i64 n) {
  constexpr int k = 2;
  n -= n % k;
  const pid_t want = getppid();
  std::atomic<i64> bad{0};
  Timer t;
  std::thread threads[k];
  for (auto& th : threads) {
    th = std::thread([&] {
      i64 wrong = 0;
      for (i64 i = 0; i < n / k; i++) wrong += getppid() != want;
      bad.fetch_add(wrong);
    });
  }
  for (auto& th : threads) th.join();
  double ns = t.ns();
  check(bad.load() == 0, "syscall_raw: getppid returned another value");
  return {n, ns, ""};
}

// blocking: N goroutines each make 10 calls that block their thread for 1 ms (nanosleep).
Result blocking_calls(i64 n) {
  goro::wait_group wg;
  std::atomic<i64> calls{0};
  wg.add(static_cast<int>(n));
  Timer t;
  for (i64 i = 0; i < n; i++) {
    goro::go([&] {
      for (int r = 0; r < 10; r++) {
        goro::blocking([] {
          timespec ts{0, 1'000'000};
          nanosleep(&ts, nullptr);
        });
        calls.fetch_add(1);
      }
      wg.done();
    });
  }
  wg.wait();
  double ns = t.ns();
  check(calls.load() == 10 * n && ns >= 10e6, "blocking: missing calls or under 10 ms");
  char buf[64];
  std::snprintf(buf, sizeof buf, " wall_ms=%.2f vs_ideal=%.2f", ns / 1e6, ns / 10e6);
  return {n, ns, buf};
}

// hog: 2 x max_procs goroutines compute without ever entering the scheduler while one more
// sleeps 1 ms N times. Timed from the first spawn to the sleeper's last wakeup (ideal N ms).
Result hog(i64 n) {
  const int hogs = 2 * static_cast<int>(max_procs());
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> sink{0};
  goro::wait_group wg;
  wg.add(hogs + 1);
  Timer t;
  for (int h = 0; h < hogs; h++) {
    goro::go([&] {
      std::uint64_t x = 1;
      while (!stop.load(std::memory_order_relaxed)) {
        for (int i = 0; i < 1000; i++) x = x * 6364136223846793005ull + 1442695040888963407ull;
      }
      sink.fetch_add(x & 1);
      wg.done();
    });
  }
  double ns = 0;
  goro::go([&] {
    for (i64 i = 0; i < n; i++) goro::sleep_for(std::chrono::milliseconds(1));
    ns = t.ns();
    stop.store(true);
    wg.done();
  });
  wg.wait();
  check(ns >= static_cast<double>(n) * 1e6, "hog: finished under N ms");
  char buf[96];
  std::snprintf(buf, sizeof buf, " hogs=%d wall_ms=%.2f vs_ideal=%.2f", hogs, ns / 1e6,
                ns / (static_cast<double>(n) * 1e6));
  return {n, ns, buf};
}

// idle_cpu: the CPU an idle program burns: main sleeps N x 1 s with nothing else to run, and
// the process's user + system time over that wall time is reported (the monitor's backoff and
// idle workers' sleeps are what it measures). Not a SPEC.md workload: goro's own check.
Result idle_cpu(i64 n) {
  auto cpu_ns = [] {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
  };
  goro::sleep_for(std::chrono::milliseconds(50));  // start-up over: threads made, backoff begun
  const double c0 = cpu_ns();
  Timer t;
  for (i64 i = 0; i < n; i++) goro::sleep_for(std::chrono::seconds(1));
  const double wall = t.ns(), cpu = cpu_ns() - c0;
  char buf[96];
  std::snprintf(buf, sizeof buf, " cpu_ms=%.2f wall_ms=%.1f cpu_pct=%.3f", cpu / 1e6, wall / 1e6,
                100 * cpu / wall);
  return {n, wall, buf};
}

// The OS-boundary workloads, with bench_main's CLI and output line; -1 when argv names none.
int os_boundary_main(int argc, char** argv, const std::string& tag) {
  struct entry {
    const char* name;
    i64 def_n;
    Result (*run)(i64);
  };
  static const entry table[] = {{"syscall", 4'000'000, syscall_short},
                                {"syscall_raw", 4'000'000, syscall_raw},
                                {"blocking", 200, blocking_calls},
                                {"hog", 20, hog},
                                {"idle_cpu", 1, idle_cpu}};
  if (argc < 2 || argc > 3) return -1;
  for (const entry& e : table) {
    if (std::string(argv[1]) != e.name) continue;
    i64 n = e.def_n;
    if (argc == 3) {
      char* end;
      n = std::strtoll(argv[2], &end, 10);
      if (*end || n < 1) {
        std::fprintf(stderr, "bad N: %s\n", argv[2]);
        return 2;
      }
    }
    Result r = e.run(n);
    std::printf("%s N=%lld ns_per_op=%.1f ops_per_s=%.0f maxrss_kb=%ld%s%s\n", e.name,
                static_cast<long long>(r.n), r.ns / static_cast<double>(r.n),
                static_cast<double>(r.n) / (r.ns / 1e9), maxrss_kb(), tag.c_str(), r.extra.c_str());
    return 0;
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  // bench_main runs as goroutine 1, like Go's main; on a failed check it calls std::_Exit(1).
  int rc = 2;
  goro::run([&] {
    const std::string tag = " maxprocs=" + std::to_string(max_procs());
    rc = os_boundary_main(argc, argv, tag);
    if (rc < 0) rc = bench_main<GoroRT>(argc, argv, "goro-bench", tag);
  });
  std::fflush(stdout);
  return rc;
}
