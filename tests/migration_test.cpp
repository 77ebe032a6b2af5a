// A goroutine may resume on a different worker thread after any blocking call (always, under
// GORO_DEBUG_MIGRATE=1). What it can see of its own state must not change when that happens:
// its locals, errno, and the C++ exception state (the caught exception, uncaught_exceptions).
// Thread-locals do belong to the thread, so they legitimately change; they must not be
// corrupted.
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <exception>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace {

using goro_test::runtime_test;
using goro_test::scaled;

using migration_test = runtime_test;

constexpr int round_trips = static_cast<int>(scaled(500, 200, 100));

// A partner that answers every ping, so the caller parks (and may migrate) once per round trip.
struct echo {
  goro::chan<int> ping = goro::make_chan<int>();
  goro::chan<int> pong = goro::make_chan<int>();
  echo() {
    goro::go([ping = ping, pong = pong]() mutable {
      for (int v : ping) pong.send(v);
    });
  }
  echo(const echo&) = delete;
  echo& operator=(const echo&) = delete;
  // NOLINTNEXTLINE(bugprone-exception-escape): close() throws only on a second close; none here
  ~echo() { ping.close(); }
  int round_trip(int v) {
    ping.send(v);
    return *pong.recv();
  }
};

TEST_F(migration_test, LocalsSurviveParking) {
  goro::run([] {
    goro::wait_group wg;
    for (int g = 0; g < 8; ++g) {
      wg.add(1);
      goro::go([&wg, g] {
        goro_test::done_guard done(wg);
        echo e;
        std::array<int, 64> local{};
        std::iota(local.begin(), local.end(), g * 1000);
        std::string text = "goroutine " + std::to_string(g);
        for (int i = 0; i < round_trips; ++i) {
          ASSERT_EQ(e.round_trip(i), i);
          for (int k = 0; k < 64; ++k) ASSERT_EQ(local[k], g * 1000 + k + i);
          ASSERT_EQ(text, "goroutine " + std::to_string(g));
          for (int& v : local) ++v;
        }
      });
    }
    wg.wait();
  });
}

// Another goroutine may write through a pointer to our stack while we are parked: the stack is
// not moved.
TEST_F(migration_test, StackAddressesStayValidWhileParked) {
  goro::run([] {
    auto addr = goro::make_chan<long*>();
    auto done = goro::make_chan<goro::signal>();
    goro::go([addr, done]() mutable {
      long* p = *addr.recv();
      for (int i = 0; i < 1000; ++i) *p += i;
      done.send({});
    });
    long on_my_stack = 0;
    addr.send(&on_my_stack);
    done.recv();
    EXPECT_EQ(on_my_stack, 999L * 1000 / 2);
  });
}

// errno is per thread in C; a goroutine is a thread to its code, so its errno must travel with
// it. Several goroutines hold different values at once while parking through each other.
//
// errno is read through current_errno() rather than written out: glibc declares
// __errno_location() __attribute__((const)), so the compiler may compute &errno once per
// function and keep using the first thread's errno after the goroutine moved to another
// worker (with GCC -O2, `errno = 1234; sleep; assert(errno == 1234)` fails whenever the
// goroutine migrates). No runtime can repair such a cached address (see docs/diagnostics.md,
// "errno and thread-locals").
GORO_TEST_OPAQUE int current_errno() { return errno; }

TEST_F(migration_test, ErrnoIsPerGoroutine) {
  goro::run([] {
    goro::wait_group wg;
    for (int g = 0; g < 8; ++g) {
      wg.add(1);
      goro::go([&wg, g] {
        goro_test::done_guard done(wg);
        echo e;
        const int mine = 1234 + g;
        errno = mine;
        for (int i = 0; i < round_trips; ++i) {
          e.round_trip(i);
          ASSERT_EQ(current_errno(), mine) << "after round trip " << i;
          if (i % 7 == 0) goro::yield();
          ASSERT_EQ(current_errno(), mine) << "after yield " << i;
        }
      });
    }
    wg.wait();
  });
}

TEST_F(migration_test, ErrnoSurvivesSleep) {
  goro::run([] {
    errno = 1234;
    for (int i = 0; i < 20; ++i) {
      goro::sleep_for(std::chrono::microseconds(50));
      ASSERT_EQ(current_errno(), 1234) << "after sleep " << i;
    }
  });
}

// Goroutines that throw, catch and rethrow their own exceptions all the time, parking inside
// and outside catch blocks, so that any exception state shared between goroutines on one
// worker would be observed by the checking goroutines below.
void start_noisy_throwers(goro::wait_group& wg, std::atomic<bool>& stop, int count) {
  for (int n = 0; n < count; ++n) {
    wg.add(1);
    goro::go([&wg, &stop, n] {
      echo e;
      // Bounded as a hang guard: they run until the checkers are done, and that relies on the
      // scheduler not starving the checkers (run_test.PingPongPairDoesNotStarveOthers).
      for (int k = 0; !stop.load() && k < 20 * round_trips; ++k) {
        try {
          throw std::out_of_range("noise " + std::to_string(n));
        } catch (const std::out_of_range& ex) {
          e.round_trip(n);
          EXPECT_EQ(std::string(ex.what()), "noise " + std::to_string(n));
          try {
            throw;
          } catch (const std::out_of_range& again) {
            EXPECT_EQ(&again, &ex);
          }
        }
        e.round_trip(n);
      }
      wg.done();
    });
  }
}

TEST_F(migration_test, CaughtExceptionSurvivesParkingInCatchBlock) {
  goro::run([] {
    std::atomic<bool> stop{false};
    goro::wait_group noise;
    start_noisy_throwers(noise, stop, 4);

    goro::wait_group checkers;
    for (int g = 0; g < 4; ++g) {
      checkers.add(1);
      goro::go([&checkers, g] {
        echo e;
        const std::string expected = "mine " + std::to_string(g);
        for (int i = 0; i < round_trips / 10; ++i) {
          try {
            throw std::runtime_error(expected);
          } catch (const std::exception& ex) {
            const std::exception_ptr before = std::current_exception();
            for (int k = 0; k < 10; ++k) e.round_trip(k);
            EXPECT_EQ(std::uncaught_exceptions(), 0);
            EXPECT_EQ(std::current_exception(), before);
            // Throwing and catching another exception inside the handler, across a park,
            // must restore ours afterwards.
            try {
              e.round_trip(i);
              throw std::logic_error("inner");
            } catch (const std::logic_error& inner) {
              e.round_trip(i);
              EXPECT_STREQ(inner.what(), "inner");
            }
            EXPECT_EQ(std::current_exception(), before);
            // `throw;` rethrows the exception this goroutine is handling, not another's.
            try {
              throw;
            } catch (const std::runtime_error& again) {
              EXPECT_EQ(&again, &ex);
              EXPECT_EQ(std::string(again.what()), expected);
            } catch (...) {
              ADD_FAILURE() << "rethrow produced a foreign exception";
            }
            try {
              std::rethrow_exception(before);
            } catch (const std::runtime_error& again) {
              EXPECT_EQ(std::string(again.what()), expected);
            }
          }
          // Leaving the handler ended our exception; none is current any more.
          EXPECT_EQ(std::current_exception(), nullptr);
        }
        checkers.done();
      });
    }
    checkers.wait();
    stop = true;
    noise.wait();
  });
}

// A destructor that parks while its frame is being unwound: uncaught_exceptions() must stay
// this goroutine's count (1) across the park, whatever runs on the worker meanwhile.
TEST_F(migration_test, UncaughtExceptionsSurvivesParkingDuringUnwinding) {
  goro::run([] {
    std::atomic<bool> stop{false};
    goro::wait_group noise;
    start_noisy_throwers(noise, stop, 4);

    goro::wait_group checkers;
    for (int g = 0; g < 4; ++g) {
      checkers.add(1);
      goro::go([&checkers] {
        echo e;
        struct parks_in_destructor {
          echo& e;
          ~parks_in_destructor() {
            EXPECT_EQ(std::uncaught_exceptions(), 1);
            for (int k = 0; k < 10; ++k) e.round_trip(k);
            EXPECT_EQ(std::uncaught_exceptions(), 1);
          }
        };
        for (int i = 0; i < round_trips / 10; ++i) {
          try {
            parks_in_destructor guard{e};
            EXPECT_EQ(std::uncaught_exceptions(), 0);
            throw std::runtime_error("unwinding");
          } catch (const std::runtime_error& ex) {
            EXPECT_STREQ(ex.what(), "unwinding");
            EXPECT_EQ(std::uncaught_exceptions(), 0);
          }
        }
        checkers.done();
      });
    }
    checkers.wait();
    stop = true;
    noise.wait();
  });
}

// thread_local state reached through a function the compiler cannot see through, so every
// access names the current thread's object. Goroutines mutate it between parks; each stretch
// between two parks runs on one thread, so the object's invariant must hold at each access.
struct thread_state {
  std::vector<int> values;
  long sum = 0;
  std::uint64_t canary = 0x600d600d600d600dULL;
};
thread_local thread_state tls_state;

GORO_TEST_OPAQUE thread_state& current_thread_state() { return tls_state; }

TEST_F(migration_test, ThreadLocalsAreNotCorrupted) {
  goro::run([] {
    goro::wait_group wg;
    for (int g = 0; g < 8; ++g) {
      wg.add(1);
      goro::go([&wg, g] {
        goro_test::done_guard done(wg);
        echo e;
        for (int i = 0; i < round_trips; ++i) {
          thread_state& s = current_thread_state();
          ASSERT_EQ(s.canary, 0x600d600d600d600dULL);
          ASSERT_EQ(s.sum, std::accumulate(s.values.begin(), s.values.end(), 0L));
          s.values.push_back(g + i);
          s.sum += g + i;
          if (s.values.size() > 32) {
            s.values.clear();
            s.sum = 0;
          }
          e.round_trip(i);
        }
      });
    }
    wg.wait();
  });
}

}  // namespace
