// goro-bench: the workloads of bench/peers/README.md on goro, with the peers' CLI, output line
// and validation. goro plugs in as one more runtime policy of bench/peers/cpp/workloads.hpp, so
// the Boost.Fiber and goro columns of bench/compare.sh time identical code. The three workloads
// of the OS boundary (syscall, blocking, hog) exist only in Go's peer (bench/peers/go); they are
// written here after it, with goro::blocking() where Go enters its syscall state.
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
#include <vector>

#include "peers/cpp/workloads.hpp"

namespace {

using peers::i64;
using peers::outcome;
using peers::require;
using peers::stopwatch;

struct goro_rt {
  template <class T>
  class chan {
   public:
    explicit chan(std::size_t cap) : ch_(goro::make_chan<T>(cap)) {}

    // The workloads want "false once closed" instead of Go's panic. Only the sieve's untimed
    // shutdown takes the throwing path, so its cost never enters a timing.
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
  // never ready again: Go's nil-channel trick, exactly what the Go peer does.
  template <class T>
  class select2 {
   public:
    select2(chan<T>& a, chan<T>& b) : c_{a.handle(), b.handle()} {}

    int recv(T& out) {
      const int i = pick(out);
      if (i >= 0) [[likely]]
        return i;
      return drop(~i, out);
    }

   private:
    // One select over both cases: the index of the channel that gave a value, or ~index of
    // one found closed.
    int pick(T& out) {
      bool ok = false;
      auto take = [&](std::optional<T> v) {
        if (v) {
          out = std::move(*v);
          ok = true;
        }
      };
      const int i =
          static_cast<int>(goro::select(goro::on_recv(c_[0], take), goro::on_recv(c_[1], take)));
      return ok ? i : ~i;
    }

    // Channel `closed` is done: nil it (its case never fires again) and go on with the other.
    // Out of line, so that recv's usual path stays one straight select.
    [[gnu::noinline]] int drop(int closed, T& out) {
      c_[closed] = goro::chan<T>{};
      if (--open_ == 0) return -1;
      const int i = pick(out);
      return i >= 0 ? i : drop(~i, out);
    }

    goro::chan<T> c_[2];
    int open_ = 2;
  };

  class wait_group {
   public:
    void add(int k) { wg_.add(k); }
    void done() { wg_.done(); }
    void wait() { wg_.wait(); }

   private:
    goro::wait_group wg_;
  };

  template <class F>
  static void go(F&& f) {
    goro::go(std::forward<F>(f));
  }
  static void sleep_ms(int ms) { goro::sleep_for(std::chrono::milliseconds(ms)); }
};

// syscall: 4 goroutines make N getppid calls in all, each through goro::blocking().
outcome syscall_short(i64 n) {
  constexpr int k = 4;
  n = n < k ? k : n - n % k;
  const pid_t want = getppid();
  goro::wait_group wg;
  std::atomic<i64> bad{0};
  wg.add(k);
  stopwatch t;
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
  require(bad.load() == 0, "syscall", "getppid returned another value");
  return {n, ns, ""};
}

// syscall_raw: the floor syscall is measured against: N getppid calls in all from two plain
// threads (one per core on the 2-core machines), no runtime involved.
outcome syscall_raw(i64 n) {
  constexpr int k = 2;
  n = n < k ? k : n - n % k;
  const pid_t want = getppid();
  std::atomic<i64> bad{0};
  stopwatch t;
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
  require(bad.load() == 0, "syscall_raw", "getppid returned another value");
  return {n, ns, ""};
}

// blocking: N goroutines each make 10 calls that block their thread for 1 ms (nanosleep).
outcome blocking_calls(i64 n) {
  return peers::workloads<goro_rt>::ten_each(n, "blocking", "missing calls or under 10 ms", [] {
    goro::blocking([] {
      timespec ts{0, 1'000'000};
      nanosleep(&ts, nullptr);
    });
  });
}

// hog: 2 x max_procs goroutines compute without ever entering the scheduler while one more
// sleeps 1 ms N times. Timed from the first spawn to the sleeper's last wakeup (ideal N ms).
outcome hog(i64 n) {
  const int hogs = 2 * static_cast<int>(goro::max_procs());
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> sink{0};
  goro::wait_group wg;
  wg.add(hogs + 1);
  stopwatch t;
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
  require(ns >= static_cast<double>(n) * 1e6, "hog", "finished under N ms");
  return {n, ns,
          peers::fields(" hogs=%d wall_ms=%.2f vs_ideal=%.2f", hogs, ns / 1e6,
                        ns / (static_cast<double>(n) * 1e6))};
}

// idle_cpu: the CPU an idle program burns: main sleeps N x 1 s with nothing else to run, and
// the process's user + system time over that wall time is reported (the monitor's backoff and
// idle workers' sleeps are what it measures). Not a peers' workload: goro's own check.
outcome idle_cpu(i64 n) {
  auto cpu_ns = [] {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
  };
  goro::sleep_for(std::chrono::milliseconds(50));  // start-up over: threads made, backoff begun
  const double c0 = cpu_ns();
  stopwatch t;
  for (i64 i = 0; i < n; i++) goro::sleep_for(std::chrono::seconds(1));
  const double wall = t.ns(), cpu = cpu_ns() - c0;
  return {n, wall,
          peers::fields(" cpu_ms=%.2f wall_ms=%.1f cpu_pct=%.3f", cpu / 1e6, wall / 1e6,
                        100 * cpu / wall)};
}

}  // namespace

int main(int argc, char** argv) {
  // The workload runs as goroutine 1, like Go's main; a failed check calls std::_Exit(1).
  int rc = 2;
  goro::run([&] {
    std::vector<peers::workload> table = peers::channel_workloads<goro_rt>();
    table.insert(table.end(), {{"syscall", 4'000'000, syscall_short},
                               {"syscall_raw", 4'000'000, syscall_raw},
                               {"blocking", 200, blocking_calls},
                               {"hog", 20, hog},
                               {"idle_cpu", 1, idle_cpu}});
    rc = peers::main(argc, argv, table, " maxprocs=" + std::to_string(goro::max_procs()));
  });
  std::fflush(stdout);
  return rc;
}
