// bench/peers/cpp/workloads.hpp: the ten channel workloads of bench/peers/README.md, written
// once for every C++ peer. A peer supplies a runtime policy R (below); fiberbench (Boost.Fiber)
// and goro-bench (goro) run this same code, so their columns differ only in the runtime.
//
// Owns: the workloads' shapes, their timed regions, their checks, the CLI and the result line.
// Invariants: a workload's timed region starts just before its first spawn and ends when main's
// final wait returns (sieve: when the N-th prime arrives); checks and shutdown run after it. A
// failed check prints `FAIL <workload>: <what>` and exits 1 without a result line.
//
// The policy R provides, all callable from a task or from the task that runs peers::main:
//   template <class T> class R::chan     chan(std::size_t cap)  (0 = unbuffered)
//                                        bool send(T)           false once the channel is closed
//                                        bool recv(T&)          false once closed and drained
//                                        void close()
//   template <class T> class R::select2  select2(chan<T>& a, chan<T>& b)
//                                        int recv(T&)  0 or 1: which channel gave a value;
//                                                      -1 once both are closed and drained
//   class R::wait_group                  add(int), done(), wait()
//   static void R::go(F)                 spawns a task running F
//   static void R::sleep_ms(int)         suspends the calling task
#pragma once

#include <sys/resource.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace peers {

using i64 = std::int64_t;

// What one workload run produced: the effective N, the timed wall-clock ns and the workload's
// extra ` key=value` fields.
struct outcome {
  i64 n;
  double ns;
  std::string fields;
};

class stopwatch {
 public:
  double ns() const {
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0_).count();
  }

 private:
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

inline long maxrss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// A failed check ends the process at once: no result line, exit status 1.
inline void require(bool ok, const char* workload, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "FAIL %s: %s\n", workload, what);
  std::fflush(stderr);
  std::_Exit(1);
}

template <class... Args>
std::string fields(const char* fmt, Args... args) {
  char buf[160];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

template <class R>
struct workloads {
  template <class T>
  using chan = typename R::template chan<T>;

  // 1. Two tasks, two unbuffered channels: A sends i on a and expects i back on b, N times.
  static outcome pingpong(i64 n) {
    chan<i64> a(0), b(0);
    typename R::wait_group wg;
    std::atomic<bool> ok{true};
    wg.add(2);
    stopwatch t;
    R::go([&] {
      bool good = true;
      for (i64 i = 0; i < n; i++) {
        i64 v = -1;
        a.send(i);
        good &= b.recv(v) && v == i;
      }
      ok = good;
      wg.done();
    });
    R::go([&] {
      for (i64 i = 0; i < n; i++) {
        i64 v = 0;
        a.recv(v);
        b.send(v);
      }
      wg.done();
    });
    wg.wait();
    const double ns = t.ns();
    require(ok, "pingpong", "a reply differed from its request");
    return {n, ns, ""};
  }

  // 2. One producer sends 0..N-1 through a channel of capacity 1024 and closes it; one
  // consumer receives until closed and checks it saw every value once, in order.
  static outcome spsc(i64 n) {
    chan<i64> c(1024);
    typename R::wait_group wg;
    i64 got = 0;
    bool in_order = true;
    wg.add(2);
    stopwatch t;
    R::go([&] {
      for (i64 i = 0; i < n; i++) c.send(i);
      c.close();
      wg.done();
    });
    R::go([&] {
      i64 v = 0, seen = 0;
      bool good = true;
      while (c.recv(v)) good &= v == seen++;
      got = seen;
      in_order = good;
      wg.done();
    });
    wg.wait();
    const double ns = t.ns();
    require(in_order && got == n, "spsc", "values lost, repeated or out of order");
    return {n, ns, ""};
  }

  // 3. Four producers send disjoint quarters of 0..N-1 into one channel of capacity 1024; four
  // consumers drain it. Main closes the channel once the producers are done.
  static outcome mpmc(i64 n) {
    constexpr int k = 4;
    chan<i64> c(1024);
    typename R::wait_group producers, consumers;
    std::atomic<i64> sum{0}, count{0};
    producers.add(k);
    consumers.add(k);
    stopwatch t;
    for (int p = 0; p < k; p++) {
      R::go([&, p] {
        for (i64 i = n * p / k; i < n * (p + 1) / k; i++) c.send(i);
        producers.done();
      });
    }
    for (int q = 0; q < k; q++) {
      R::go([&] {
        i64 v = 0, s = 0, m = 0;
        while (c.recv(v)) {
          s += v;
          m++;
        }
        sum += s;
        count += m;
        consumers.done();
      });
    }
    producers.wait();
    c.close();
    consumers.wait();
    const double ns = t.ns();
    require(count == n && sum == n * (n - 1) / 2, "mpmc", "wrong count or sum");
    return {n, ns, ""};
  }

  // 4. A hundred senders share one unbuffered channel to a single receiver; sender s sends
  // s*k .. s*k+k-1. The receiver checks the sum and that each sender's values arrive in order.
  // N is rounded down to a multiple of 100 (and is at least 100).
  static outcome fanin(i64 n) {
    constexpr int senders = 100;
    n = n < senders ? senders : n - n % senders;
    const i64 k = n / senders;
    chan<i64> c(0);
    typename R::wait_group wg;
    i64 sum = 0;
    bool in_order = true;
    wg.add(senders + 1);
    stopwatch t;
    for (int s = 0; s < senders; s++) {
      R::go([&, s] {
        for (i64 j = 0; j < k; j++) c.send(s * k + j);
        wg.done();
      });
    }
    R::go([&] {
      std::vector<i64> next(senders);
      for (int s = 0; s < senders; s++) next[s] = s * k;
      for (i64 i = 0; i < n; i++) {
        i64 v = 0;
        c.recv(v);
        sum += v;
        i64& want = next[static_cast<std::size_t>(v / k)];
        in_order &= v == want;
        want = v + 1;
      }
      wg.done();
    });
    wg.wait();
    const double ns = t.ns();
    require(in_order && sum == n * (n - 1) / 2, "fanin", "wrong sum or a sender out of order");
    return {n, ns, ""};
  }

  // 5. Two producers, two channels of capacity 128: 0..h-1 on a, h..N-1 on b, each closed when
  // done. One consumer selects over both until both are closed. N is rounded down to even.
  static outcome select2(i64 n) {
    n = n < 2 ? 2 : n - n % 2;
    const i64 h = n / 2;
    chan<i64> a(128), b(128);
    typename R::wait_group wg;
    std::array<i64, 2> got{0, 0};
    bool in_order = true;
    wg.add(3);
    stopwatch t;
    R::go([&] {
      for (i64 i = 0; i < h; i++) a.send(i);
      a.close();
      wg.done();
    });
    R::go([&] {
      for (i64 i = h; i < n; i++) b.send(i);
      b.close();
      wg.done();
    });
    R::go([&] {
      typename R::template select2<i64> sel(a, b);
      std::array<i64, 2> seen{0, 0};
      bool good = true;
      i64 v = 0;
      for (int i = sel.recv(v); i >= 0; i = sel.recv(v)) {
        auto which = static_cast<std::size_t>(i);
        good &= v == static_cast<i64>(which) * h + seen[which]++;
      }
      got = seen;
      in_order = good;
      wg.done();
    });
    wg.wait();
    const double ns = t.ns();
    require(in_order && got[0] == h && got[1] == h, "select2", "values lost or out of order");
    return {n, ns, ""};
  }

  // 6. Main spawns N tasks without yielding; each bumps a counter and is waited for.
  static outcome spawn(i64 n) {
    typename R::wait_group wg;
    std::atomic<i64> count{0};
    wg.add(static_cast<int>(n));
    stopwatch t;
    for (i64 i = 0; i < n; i++) {
      R::go([&] {
        count.fetch_add(1, std::memory_order_relaxed);
        wg.done();
      });
    }
    wg.wait();
    const double ns = t.ns();
    require(count.load() == n, "spawn", "a task did not run");
    return {n, ns, ""};
  }

  // 7. N tasks block receiving on one unbuffered channel until main closes it; the peak RSS
  // growth per blocked task is reported.
  static outcome idle(i64 n) {
    chan<i64> c(0);
    typename R::wait_group ready, done;
    std::atomic<i64> closed{0};
    const long rss0 = maxrss_kb();
    ready.add(static_cast<int>(n));
    done.add(static_cast<int>(n));
    stopwatch t;
    for (i64 i = 0; i < n; i++) {
      R::go([&] {
        ready.done();
        i64 v = 0;
        if (!c.recv(v)) closed.fetch_add(1);
        done.done();
      });
    }
    ready.wait();
    c.close();
    done.wait();
    const double ns = t.ns();
    require(closed.load() == n, "idle", "a receive did not report the close");
    const double per_task = static_cast<double>(maxrss_kb() - rss0) * 1024 / static_cast<double>(n);
    return {n, ns, fields(" rss_per_task_b=%.0f", per_task)};
  }

  // 8. The concurrent prime sieve over unbuffered channels: main takes each prime from the
  // tail and appends a filter for it. After the timed region main closes the tail, and the
  // chain unwinds: a filter whose send fails closes its input, the generator stops likewise.
  static outcome sieve(i64 n) {
    std::vector<chan<i64>> links;  // reserved: a filter's pointers into it stay valid
    links.reserve(static_cast<std::size_t>(n) + 1);
    links.emplace_back(0);
    typename R::wait_group chain;
    std::vector<i64> primes;
    primes.reserve(static_cast<std::size_t>(n));
    chain.add(static_cast<int>(n) + 1);
    stopwatch t;
    R::go([&, out = &links.back()] {
      for (i64 i = 2; out->send(i); i++) {
      }
      chain.done();
    });
    for (i64 i = 0; i < n; i++) {
      i64 p = 0;
      links.back().recv(p);
      primes.push_back(p);
      chan<i64>* in = &links.back();
      links.emplace_back(0);
      R::go([&, in, out = &links.back(), p] {
        for (i64 v = 0; in->recv(v);) {
          if (v % p != 0 && !out->send(v)) break;
        }
        in->close();
        chain.done();
      });
    }
    const double ns = t.ns();
    links.back().close();
    chain.wait();
    std::vector<i64> want;
    for (i64 v = 2; static_cast<i64>(want.size()) < n; v++) {
      bool prime = true;
      for (i64 d : want) {
        if (d * d > v) break;
        if (v % d == 0) {
          prime = false;
          break;
        }
      }
      if (prime) want.push_back(v);
    }
    require(primes == want, "sieve", "the primes differ from trial division's");
    return {n, ns, ""};
  }

  // 9. A feeder, 8 workers and a collector: job ids through `jobs` (capacity 100), each
  // worker computes job(j), results through `results` (capacity 100) to the collector.
  static i64 job(i64 j) {
    static const std::array<i64, 1024> table = [] {
      std::array<i64, 1024> tb{};
      for (std::size_t i = 0; i < tb.size(); i++) tb[i] = static_cast<i64>(i) * 7919 % 1000;
      return tb;
    }();
    i64 s = 0;
    for (i64 k = 0; k < 100; k++) s += table[static_cast<std::size_t>((j + k) & 1023)];
    return s;
  }

  static outcome workers(i64 n) {
    constexpr int k = 8;
    chan<i64> jobs(100), results(100);
    typename R::wait_group wg, working;
    i64 sum = 0;
    wg.add(k + 2);
    working.add(k);
    stopwatch t;
    R::go([&] {
      for (i64 j = 0; j < n; j++) jobs.send(j);
      jobs.close();
      wg.done();
    });
    for (int w = 0; w < k; w++) {
      R::go([&] {
        for (i64 j = 0; jobs.recv(j);) results.send(job(j));
        working.done();
        wg.done();
      });
    }
    R::go([&] {
      for (i64 i = 0; i < n; i++) {
        i64 r = 0;
        results.recv(r);
        sum += r;
      }
      wg.done();
    });
    wg.wait();
    const double ns = t.ns();
    i64 want = 0;
    for (i64 j = 0; j < n; j++) want += job(j);
    require(sum == want, "workers", "the results' sum is wrong");
    return {n, ns, ""};
  }

  // 10. N tasks each sleep 1 ms ten times; the ideal wall time is 10 ms.
  static outcome timers(i64 n) {
    return ten_each(n, "timers", "sleeps missing or under 10 ms", [] { R::sleep_ms(1); });
  }

  // N tasks each run op() ten times, op being a 1 ms wait of some kind (timers here, the OS
  // boundary's blocking in goro-bench): checks 10*N calls and a wall time of at least 10 ms,
  // and reports wall_ms and vs_ideal against those 10 ms.
  template <class Op>
  static outcome ten_each(i64 n, const char* name, const char* what, Op op) {
    typename R::wait_group wg;
    std::atomic<i64> calls{0};
    wg.add(static_cast<int>(n));
    stopwatch t;
    for (i64 i = 0; i < n; i++) {
      R::go([&] {
        for (int r = 0; r < 10; r++) {
          op();
          // Relaxed: read only after wg.wait(), which orders every task's adds before it.
          calls.fetch_add(1, std::memory_order_relaxed);
        }
        wg.done();
      });
    }
    wg.wait();
    const double ns = t.ns();
    require(calls.load() == 10 * n && ns >= 10e6, name, what);
    return {n, ns, fields(" wall_ms=%.2f vs_ideal=%.2f", ns / 1e6, ns / 10e6)};
  }
};

// One entry of a peer's workload table: its name, default N and how to run it.
struct workload {
  const char* name;
  i64 default_n;
  outcome (*run)(i64);
};

template <class R>
std::vector<workload> channel_workloads() {
  using w = workloads<R>;
  return {{"pingpong", 1'000'000, w::pingpong}, {"spsc", 10'000'000, w::spsc},
          {"mpmc", 10'000'000, w::mpmc},        {"fanin", 2'000'000, w::fanin},
          {"select2", 10'000'000, w::select2},  {"spawn", 1'000'000, w::spawn},
          {"idle", 100'000, w::idle},           {"sieve", 3'000, w::sieve},
          {"workers", 2'000'000, w::workers},   {"timers", 10'000, w::timers}};
}

// The CLI shared by every peer: `PROG WORKLOAD [N]`. Runs the workload named in argv from
// `table` and prints its result line with the peer's own ` key=value` fields; returns the exit
// status (2 for a usage error, an unknown workload or a bad N).
inline int main(int argc, char** argv, const std::vector<workload>& table,
                const std::string& peer_fields) {
  const workload* w = nullptr;
  if (argc == 2 || argc == 3) {
    for (const workload& e : table) {
      if (std::string(argv[1]) == e.name) w = &e;
    }
  }
  if (w == nullptr) {
    std::fprintf(stderr, "usage: %s WORKLOAD [N]\nworkloads:", argv[0]);
    for (const workload& e : table) std::fprintf(stderr, " %s", e.name);
    std::fprintf(stderr, "\n");
    return 2;
  }
  i64 n = w->default_n;
  if (argc == 3) {
    char* end = nullptr;
    n = std::strtoll(argv[2], &end, 10);
    if (*argv[2] == '\0' || *end != '\0' || n < 1 || n > (i64{1} << 31) - 1) {
      std::fprintf(stderr, "%s: bad N '%s' (want 1..2^31-1)\n", argv[0], argv[2]);
      return 2;
    }
  }
  const outcome r = w->run(n);
  std::printf("%s N=%lld ns_per_op=%.1f ops_per_s=%.0f maxrss_kb=%ld%s%s\n", w->name,
              static_cast<long long>(r.n), r.ns / static_cast<double>(r.n),
              static_cast<double>(r.n) / (r.ns / 1e9), maxrss_kb(), peer_fields.c_str(),
              r.fields.c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace peers
