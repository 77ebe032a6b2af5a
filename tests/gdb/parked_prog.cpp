// tests/gdb/parked_prog.cpp: the program check_goroutines.py debugs with tools/goro-gdb.py.
//
// Four goroutines park, each in a function of its own that a backtrace must show: on a channel
// receive (park_in_recv), in a select (park_in_select), on a locked mutex (park_in_mutex) and
// in a sleep (park_in_sleep). Once the runtime itself reports each of them parked for its
// reason (goro::debug::goroutine_status(), never a sleep), main calls goro_gdb_test_ready(),
// where the debugger has its breakpoint; `ready` then holds each goroutine's id and the
// goroutine count for the checker to compare with `info goroutines`. After the debugger lets it
// go on, main releases three of them and checks they got what was sent: a debugger that
// disturbed a parked goroutine's registers or stack would show here, as a crash or a wrong
// value (the exit status is checked). The sleeper is left asleep; run() does not wait for it.
//
// Run without a debugger it is an ordinary program that exits 0.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <goro/goro.hpp>
#include <optional>
#include <string>

// What the debugger reads at the breakpoint (by name, through the debug information).
struct parked_ids {
  std::uint64_t recv = 0, select = 0, mutex = 0, sleep = 0;
  std::uint64_t main = 0;
  std::size_t goroutines = 0;  // goro::num_goroutine() at the breakpoint
};
parked_ids ready;  // read by gdb

// The breakpoint. noinline, and opaque to the optimizer, so that the call stays where it is.
extern "C" [[gnu::noinline]] void goro_gdb_test_ready() { asm volatile("" ::: "memory"); }

// Each park_in_* does something after the call that parks, so that it is not a tail call and
// its frame is still on the goroutine's stack while it waits.
[[gnu::noinline]] int park_in_recv(const goro::chan<int>& ch) { return ch.recv().value_or(-1) + 1; }

[[gnu::noinline]] int park_in_select(const goro::chan<int>& a, const goro::chan<int>& b) {
  int got = -1;
  goro::select(goro::on_recv(a, [&](std::optional<int> v) { got = v.value_or(-1); }),
               goro::on_recv(b, [&](std::optional<int> v) { got = 100 + v.value_or(-1); }));
  return got + 1;
}

[[gnu::noinline]] int park_in_mutex(goro::mutex& mu) {
  mu.lock();
  mu.unlock();
  return 1;
}

[[gnu::noinline]] void park_in_sleep() { goro::sleep_for(std::chrono::hours(1)); }

namespace {

// Waits (yielding) until the runtime shows goroutine id parked with `status`.
void wait_parked(std::uint64_t id, const std::string& status) {
  while (goro::debug::goroutine_status(id) != status) goro::yield();
}

}  // namespace

int main() {
  return goro::run([] {
    auto ch = goro::make_chan<int>();
    auto a = goro::make_chan<int>();
    auto b = goro::make_chan<int>();
    auto ids = goro::make_chan<std::uint64_t>();
    auto results = goro::make_chan<int>(3);
    goro::mutex mu;
    mu.lock();

    goro::go([=] {
      ids.send(goro::goroutine_id());
      results.send(park_in_recv(ch));
    });
    ready.recv = ids.recv().value();
    goro::go([=] {
      ids.send(goro::goroutine_id());
      results.send(park_in_select(a, b));
    });
    ready.select = ids.recv().value();
    goro::go([=, &mu] {
      ids.send(goro::goroutine_id());
      results.send(park_in_mutex(mu));
    });
    ready.mutex = ids.recv().value();
    goro::go([=] {
      ids.send(goro::goroutine_id());
      park_in_sleep();
    });
    ready.sleep = ids.recv().value();

    wait_parked(ready.recv, "chan receive");
    wait_parked(ready.select, "select");
    wait_parked(ready.mutex, "sync.Mutex.Lock");
    wait_parked(ready.sleep, "sleep");
    ready.main = goro::goroutine_id();
    ready.goroutines = goro::num_goroutine();
    goro_gdb_test_ready();

    ch.send(41);  // park_in_recv returns 42
    b.send(1);    // park_in_select returns 102
    mu.unlock();  // park_in_mutex returns 1
    int sum = 0;
    for (int i = 0; i < 3; i++) sum += results.recv().value();
    if (sum != 42 + 102 + 1) {
      std::fprintf(stderr, "parked_prog: the released goroutines returned %d in all\n", sum);
      return 1;
    }
    std::puts("parked_prog: done");
    return 0;
  });
}
