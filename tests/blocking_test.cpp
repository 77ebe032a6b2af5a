// goro::blocking(): calls that block in the OS do not stall the goroutines queued behind them,
// results and exceptions pass through, the runtime's threads come and go within bounds, and
// dumps show such a goroutine as [syscall]. And goroutines that compute without entering the
// scheduler lose their processor to the others, then go on as detached threads.
//
// Tests that need a goroutine to sit inside a blocking call first wait for it through
// goro::debug::goroutine_status(), never by sleeping.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"

namespace {

using goro_test::runtime_test;
using goro_test::scaled;
using blocking_test = runtime_test;

inline void goro_test_spin_hint() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Yields until goroutine `id` shows `status` in dumps.
void wait_for_status(std::uint64_t id, const std::string& status) {
  while (goro::debug::goroutine_status(id) != status) goro::yield();
}

struct pipe_fds {
  int r = -1, w = -1;
  pipe_fds() {
    int fds[2];
    if (::pipe(fds) == 0) {
      r = fds[0];
      w = fds[1];
    }
  }
  ~pipe_fds() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
};

TEST_F(blocking_test, ReadOnAPipeDoesNotStallAPingPongOnTheSameProcessors) {
  pipe_fds p;
  ASSERT_GE(p.r, 0);
  goro::run([&] {
    auto started = goro::make_chan<std::uint64_t>(1);
    auto got = goro::make_chan<char>(1);
    goro::go([&] {
      started.send(goro::goroutine_id());
      char c = 0;
      ssize_t n = goro::blocking([&] { return ::read(p.r, &c, 1); });
      EXPECT_EQ(n, 1);
      got.send(c);
    });
    const std::uint64_t reader = *started.recv();
    wait_for_status(reader, "syscall");
    // Every processor may be the reader's: the pair runs only if the reader's is handed on.
    constexpr int kRounds = 10'000;
    auto ping = goro::make_chan<int>();
    auto pong = goro::make_chan<int>();
    goro::go([&] {
      for (int v : ping) pong.send(v + 1);
      pong.close();
    });
    int sum = 0;
    for (int i = 0; i < kRounds; i++) {
      ping.send(i);
      sum += *pong.recv() - i;
    }
    ping.close();
    EXPECT_FALSE(pong.recv().has_value());
    EXPECT_EQ(sum, kRounds);
    EXPECT_EQ(goro::debug::goroutine_status(reader), "syscall");  // still reading
    ASSERT_EQ(::write(p.w, "x", 1), 1);
    EXPECT_EQ(*got.recv(), 'x');
  });
}

TEST_F(blocking_test, ManyLongCallsAllFinishAndTheSparesShrinkBack) {
  const int n = static_cast<int>(scaled(1000, 300, 100));
  std::atomic<std::size_t> peak{0};
  goro::run([&] {
    goro::wait_group wg;
    wg.add(n);
    for (int i = 0; i < n; i++) {
      goro::go([&] {
        goro::blocking([&] {
          timespec ts{0, 10'000'000};
          nanosleep(&ts, nullptr);
          std::size_t now = goro::debug::runtime_threads();
          std::size_t seen = peak.load();
          while (now > seen && !peak.compare_exchange_weak(seen, now)) {
          }
        });
        wg.done();
      });
    }
    wg.wait();
  });
  // Never more threads than blocked goroutines plus the processors, the spares and the
  // monitor.
  const std::size_t procs = std::thread::hardware_concurrency() + 4;
  EXPECT_LE(peak.load(), static_cast<std::size_t>(n) + procs + 16 + 1);
  // The threads that came back found spares enough and ended (those still on their way out
  // are waited for; the bound only turns a leak into a failure instead of a hang).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (goro::debug::runtime_threads() > procs + 16 + 1 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  EXPECT_LE(goro::debug::runtime_threads(), procs + 16 + 1);
  EXPECT_LE(goro::debug::spare_threads(), 16u);
}

TEST_F(blocking_test, ResultsPassThrough) {
  goro::run([] {
    EXPECT_EQ(goro::blocking([] { return 42; }), 42);
    int x = 1;
    int& r = goro::blocking([&]() -> int& { return x; });
    EXPECT_EQ(&r, &x);
    auto p = goro::blocking([] { return std::make_unique<int>(7); });
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, 7);
    bool ran = false;
    goro::blocking([&] { ran = true; });
    EXPECT_TRUE(ran);
  });
}

TEST_F(blocking_test, ExceptionsPassThroughAndTheGoroutineGoesOn) {
  goro::run([] {
    const std::uint64_t id = goro::goroutine_id();
    for (int i = 0; i < 100; i++) {
      try {
        goro::blocking([&] {
          EXPECT_EQ(goro::goroutine_id(), id);
          throw std::runtime_error("from the call " + std::to_string(i));
        });
        ADD_FAILURE() << "no exception";
      } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), "from the call " + std::to_string(i));
      }
      EXPECT_EQ(std::uncaught_exceptions(), 0);
      EXPECT_EQ(goro::goroutine_id(), id);
    }
    // Still a goroutine that can park and be woken.
    auto ch = goro::make_chan<int>();
    goro::go([ch]() mutable { ch.send(5); });
    EXPECT_EQ(*ch.recv(), 5);
  });
}

TEST_F(blocking_test, AnExceptionFromALongCallThatLostItsProcessorArrives) {
  pipe_fds p;
  ASSERT_GE(p.r, 0);
  goro::run([&] {
    auto started = goro::make_chan<std::uint64_t>(1);
    auto caught = goro::make_chan<std::string>(1);
    goro::go([&] {
      started.send(goro::goroutine_id());
      try {
        goro::blocking([&] {
          char c;
          if (::read(p.r, &c, 1) == 1) throw std::runtime_error(std::string("read ") + c);
        });
      } catch (const std::exception& e) {
        caught.send(e.what());
      }
    });
    const std::uint64_t id = *started.recv();
    wait_for_status(id, "syscall");
    // Keep the processors busy so that the reader's is taken while it reads.
    for (int i = 0; i < 1000; i++) goro::yield();
    ASSERT_EQ(::write(p.w, "y", 1), 1);
    EXPECT_EQ(*caught.recv(), "read y");
  });
}

TEST_F(blocking_test, OnAPlainThreadItJustCalls) {
  const auto me = std::this_thread::get_id();
  EXPECT_EQ(goro::blocking([&] { return std::this_thread::get_id(); }), me);
  EXPECT_THROW(goro::blocking([] { throw std::logic_error("plain"); }), std::logic_error);
  // Nested: the inner call is on a thread already.
  goro::run([] { EXPECT_EQ(goro::blocking([] { return goro::blocking([] { return 3; }); }), 3); });
}

TEST_F(blocking_test, GoroCallsInsideBlockTheThreadAndWork) {
  goro::run([] {
    auto ch = goro::make_chan<int>();
    auto done = goro::make_chan<int>(1);
    goro::go([&] {
      // Inside the call this goroutine is a thread: the receive blocks it until the sender,
      // queued behind it on its processor, runs elsewhere.
      int v = goro::blocking([&] { return *ch.recv(); });
      done.send(v);
    });
    ch.send(9);
    EXPECT_EQ(*done.recv(), 9);
  });
}

// Spins until `flag` is set, never entering the scheduler.
void spin_until(const std::atomic<bool>& flag) {
  while (!flag.load(std::memory_order_acquire)) goro_test_spin_hint();
}

TEST_F(blocking_test, AGoroutineSpinningOnAFlagThatAnotherSetsFinishes) {
  std::atomic<bool> flag{false};
  goro::run([&] {
    goro::wait_group wg;
    wg.add(1);
    auto started = goro::make_chan<std::uint64_t>(1);
    goro::go([&] {
      started.send(goro::goroutine_id());
      spin_until(flag);
      wg.done();
    });
    const std::uint64_t spinner = *started.recv();
    // At one processor this wait runs only once the spinner's processor has been taken from it.
    wait_for_status(spinner, "running");
    goro::go([&] { flag.store(true, std::memory_order_release); });
    wg.wait();
  });
}

TEST_F(blocking_test, DetachedGoroutinesParkSleepYieldAndEndLikeAnyOther) {
  // Each spinner's first entry into the scheduler after its processor was taken is a
  // different one: a receive that parks, a sleep, a yield, its end.
  std::atomic<bool> go_on{false};
  goro::run([&] {
    auto ch = goro::make_chan<int>();
    goro::wait_group wg;
    auto started = goro::make_chan<std::uint64_t>(4);
    wg.add(4);
    goro::go([&] {
      started.send(goro::goroutine_id());
      spin_until(go_on);
      EXPECT_EQ(*ch.recv(), 1);
      wg.done();
    });
    goro::go([&] {
      started.send(goro::goroutine_id());
      spin_until(go_on);
      goro::sleep_for(std::chrono::milliseconds(1));
      ch.send(1);
      wg.done();
    });
    goro::go([&] {
      started.send(goro::goroutine_id());
      spin_until(go_on);
      goro::yield();
      wg.done();
    });
    goro::go([&] {
      started.send(goro::goroutine_id());
      spin_until(go_on);
      wg.done();
    });
    for (int i = 0; i < 4; i++) wait_for_status(*started.recv(), "running");
    go_on.store(true, std::memory_order_release);
    wg.wait();
  });
}

TEST_F(blocking_test, SleepsKeepTheirPaceBesideTwiceAsManyHogsAsProcessors) {
  const unsigned procs = std::max(1u, goro_test::configured_max_procs());
  std::atomic<bool> stop{false};
  goro::run([&] {
    goro::wait_group wg;
    const unsigned hogs = 2 * procs;
    wg.add(static_cast<int>(hogs));
    for (unsigned i = 0; i < hogs; i++) {
      goro::go([&] {
        spin_until(stop);
        wg.done();
      });
    }
    for (int i = 0; i < 20; i++) goro::sleep_for(std::chrono::milliseconds(1));
    stop.store(true, std::memory_order_release);
    wg.wait();
  });
}

TEST_F(blocking_test, ALockedGoroutineAlwaysResumesOnItsThreadWhichRunsNothingElse) {
  goro::run([] {
    std::atomic<bool> stop{false};
    auto locked_tid = goro::make_chan<pid_t>(1);
    auto others = goro::make_chan<pid_t>(4096);
    auto ping = goro::make_chan<int>();
    auto release = goro::make_chan<int>();
    goro::wait_group wg;
    wg.add(1);
    goro::go([&] {
      goro::lock_os_thread();
      const pid_t me = gettid();
      locked_tid.send(me);
      for (int i = 0; i < 200; i++) {
        // Every way a goroutine leaves its thread: a receive that parks, a sleep, a yield, a
        // blocking call, a go().
        EXPECT_EQ(*ping.recv(), i);
        EXPECT_EQ(gettid(), me);
        if (i % 50 == 0) goro::sleep_for(std::chrono::microseconds(100));
        goro::yield();
        goro::blocking([] { return getpid(); });
        goro::go([] {});
        EXPECT_EQ(gettid(), me);
      }
      release.recv();  // the others have stopped: unlocked, this thread may run them
      goro::unlock_os_thread();
      wg.done();
    });
    const pid_t locked = *locked_tid.recv();
    // Other goroutines run meanwhile, never on the locked thread.
    goro::wait_group busy;
    busy.add(4);
    for (int k = 0; k < 4; k++) {
      goro::go([&] {
        while (!stop.load()) {
          others.try_send(gettid());
          goro::yield();
        }
        busy.done();
      });
    }
    for (int i = 0; i < 200; i++) ping.send(i);
    stop.store(true);
    busy.wait();
    release.send(1);
    wg.wait();
    others.close();
    int seen = 0;
    for (pid_t tid : others) {
      EXPECT_NE(tid, locked);
      seen++;
    }
    EXPECT_GT(seen, 0);
  });
}

TEST_F(blocking_test, DumpShowsSyscallAndTheCallSite) {
  pipe_fds p;
  ASSERT_GE(p.r, 0);
  goro::run([&] {
    auto started = goro::make_chan<std::uint64_t>(1);
    auto finished = goro::make_chan<int>(1);
    int line = 0;
    goro::go([&] {
      char c;
      line = __LINE__ + 2;  // published by the send
      started.send(goro::goroutine_id());
      goro::blocking([&] { return ::read(p.r, &c, 1); });
      finished.send(1);
    });
    const std::uint64_t id = *started.recv();
    wait_for_status(id, "syscall");
    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    goro::dump(f);
    std::rewind(f);
    std::string text;
    char buf[4096];
    while (std::size_t k = std::fread(buf, 1, sizeof buf, f)) text.append(buf, k);
    std::fclose(f);
    const std::string head = "goroutine " + std::to_string(id) + " [syscall]:\n\tblocked at ";
    const auto at = text.find(head);
    ASSERT_NE(at, std::string::npos) << text;
    const auto eol = text.find('\n', at + head.size());
    const std::string site = text.substr(at + head.size(), eol - at - head.size());
    EXPECT_NE(site.find("blocking_test.cpp:" + std::to_string(line)), std::string::npos) << site;
    ASSERT_EQ(::write(p.w, "z", 1), 1);
    finished.recv();
  });
}

}  // namespace
