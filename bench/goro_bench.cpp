// goro-bench: the ten workloads of ../shared/peers/SPEC.md on goro, with the peers' CLI, output
// line and validation. goro plugs in as one more runtime policy of the shared workloads.hpp, so
// the Go, Boost.Fiber, threads and goro columns of bench/compare.sh time identical code.
//
//   goro-bench WORKLOAD [N]        GORO_MAXPROCS=P selects the worker count (default: #cores)
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

}  // namespace

int main(int argc, char** argv) {
  // bench_main runs as goroutine 1, like Go's main; on a failed check it calls std::_Exit(1).
  int rc = 2;
  goro::run([&] {
    rc = bench_main<GoroRT>(argc, argv, "goro-bench", " maxprocs=" + std::to_string(max_procs()));
  });
  std::fflush(stdout);
  return rc;
}
