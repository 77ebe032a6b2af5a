// Port of Go 1.19's src/sync/cond_test.go (TestCondSignal, TestCondSignalGenerations,
// TestCondBroadcast, TestRace, TestCondSignalStealing; TestCondCopy has no C++ counterpart: a
// goro::cond cannot be copied at all), then what goro adds: std::unique_lock, plain threads,
// the wait reason in dumps.
#include <mutex>
#include <thread>
#include <vector>

#include "conformance.hpp"

namespace {

using conformance::run_checked;

bool ready_now(const goro::chan<bool>& ch) {
  bool got = false;
  goro::select(goro::on_recv(ch, [&] { got = true; }), goro::on_default([] {}));
  return got;
}

TEST(Cond, Signal) {
  run_checked([] {
    goro::mutex m;
    goro::cond c(m);
    int n = 2;
    auto running = goro::make_chan<bool>(n);
    auto awake = goro::make_chan<bool>(n);
    goro::wait_group exited;  // Go's GC keeps m alive for the goroutines; here they are awaited
    for (int i = 0; i < n; i++) {
      exited.add(1);
      goro::go([&, running, awake] {
        m.lock();
        running.send(true);
        c.wait();
        awake.send(true);
        m.unlock();
        exited.done();
      });
    }
    for (int i = 0; i < n; i++) running.recv();  // everyone runs (and waits: they hold m)
    while (n > 0) {
      ASSERT_FALSE(ready_now(awake)) << "goroutine not asleep";
      m.lock();
      c.signal();
      m.unlock();
      awake.recv();  // deadlocks if no goroutine wakes up
      ASSERT_FALSE(ready_now(awake)) << "too many goroutines awake";
      n--;
    }
    c.signal();
    exited.wait();
  });
}

// Signals wake waiters in the order they began to wait.
TEST(Cond, SignalGenerations) {
  run_checked([] {
    goro::mutex m;
    goro::cond c(m);
    const int n = 100;
    auto running = goro::make_chan<bool>(n);
    auto awake = goro::make_chan<int>(n);
    goro::wait_group exited;
    for (int i = 0; i < n; i++) {
      exited.add(1);
      goro::go([&, running, awake, i] {
        m.lock();
        running.send(true);
        c.wait();
        awake.send(i);
        m.unlock();
        exited.done();
      });
      if (i > 0) {
        const int a = *awake.recv();
        ASSERT_EQ(a, i - 1) << "wrong goroutine woke up";
      }
      running.recv();
      m.lock();
      c.signal();
      m.unlock();
    }
    EXPECT_EQ(*awake.recv(), n - 1);
    exited.wait();
  });
}

TEST(Cond, Broadcast) {
  run_checked([] {
    goro::mutex m;
    goro::cond c(m);
    const int n = conformance::scaled(200);
    auto running = goro::make_chan<int>(n);
    auto awake = goro::make_chan<int>(n);
    bool exit = false;  // guarded by m
    goro::wait_group exited;
    for (int i = 0; i < n; i++) {
      exited.add(1);
      goro::go([&, running, awake, i] {
        m.lock();
        while (!exit) {
          running.send(i);
          c.wait();
          awake.send(i);
        }
        m.unlock();
        exited.done();
      });
    }
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < n; k++) running.recv();  // deadlocks unless n are running
      if (i == n - 1) {
        m.lock();
        exit = true;
        m.unlock();
      }
      int early = -1;
      goro::select(goro::on_recv(awake, [&](std::optional<int> v) { early = *v; }),
                   goro::on_default([] {}));
      ASSERT_EQ(early, -1) << "goroutine not asleep";
      m.lock();
      c.broadcast();
      m.unlock();
      std::vector<bool> seen(n);
      for (int k = 0; k < n; k++) {
        const int g = *awake.recv();
        ASSERT_FALSE(seen[g]) << "goroutine woke up twice";
        seen[g] = true;
      }
    }
    int late = -1;
    c.broadcast();
    exited.wait();
    goro::select(goro::on_recv(running, [&](std::optional<int> v) { late = *v; }),
                 goro::on_default([] {}));
    EXPECT_EQ(late, -1) << "goroutine did not exit";
  });
}

// Go's TestRace: a three-way hand-off through one cond, each step checked.
TEST(Cond, Race) {
  run_checked([] {
    int x = 0;  // guarded by m
    goro::mutex m;
    goro::cond c(m);
    auto done = goro::make_chan<bool>();
    goro::go([&, done] {
      m.lock();
      x = 1;
      c.wait();
      EXPECT_EQ(x, 2);
      x = 3;
      c.signal();
      m.unlock();
      done.send(true);
    });
    goro::go([&, done] {
      m.lock();
      for (;;) {
        if (x == 1) {
          x = 2;
          c.signal();
          break;
        }
        m.unlock();
        goro::yield();
        m.lock();
      }
      m.unlock();
      done.send(true);
    });
    goro::go([&, done] {
      m.lock();
      for (;;) {
        if (x == 2) {
          c.wait();
          EXPECT_EQ(x, 3);
          break;
        }
        if (x == 3) break;
        m.unlock();
        goro::yield();
        m.lock();
      }
      m.unlock();
      done.send(true);
    });
    done.recv();
    done.recv();
    done.recv();
  });
}

// A broadcast racing with a new waiter must still wake the waiter that was there before it.
// (Go bounds the wait for the first waiter with a 2 s timer; here a lost wakeup leaves every
// goroutine blocked and the deadlock detector ends the test binary instead.)
TEST(Cond, SignalStealing) {
  run_checked([] {
    const int iterations = conformance::scaled(1000);
    for (int iter = 0; iter < iterations; iter++) {
      goro::mutex m;
      goro::cond c(m);
      auto ch = goro::make_chan<goro::signal>();
      goro::wait_group wg;
      wg.add(3);
      goro::go([&, ch] {
        m.lock();
        ch.send({});
        c.wait();
        m.unlock();
        ch.send({});
        wg.done();
      });
      ch.recv();
      m.lock();  // the waiter is inside wait(): it held m when it signalled us
      m.unlock();
      bool done = false;  // guarded by m
      goro::go([&] {
        c.broadcast();
        wg.done();
      });
      goro::go([&] {
        m.lock();
        while (!done) c.wait();
        m.unlock();
        wg.done();
      });
      ch.recv();  // the first waiter was woken
      m.lock();
      done = true;
      m.unlock();
      c.broadcast();  // the second waiter, in case the first broadcast missed it
      wg.wait();
    }
  });
}

// ---- goro's additions ------------------------------------------------------------------------

// The usual C++ shape: std::unique_lock around a predicate loop; the waiter shows in dumps as
// [sync.Cond.Wait] while it waits.
TEST(Cond, UniqueLockAndWaitReason) {
  run_checked([] {
    goro::mutex m;
    goro::cond c(m);
    int value = 0;  // guarded by m
    auto ids = goro::make_chan<std::uint64_t>(1);
    auto result = goro::make_chan<int>(1);
    goro::go([&, ids, result] {
      std::unique_lock lock(m);
      ids.send(goro::goroutine_id());
      while (value == 0) c.wait();
      EXPECT_TRUE(lock.owns_lock());
      const int v = value;
      lock.unlock();  // before the send: once main has the value, m is gone
      result.send(v);
    });
    goro_test::wait_until_parked(*ids.recv(), "sync.Cond.Wait");
    {
      std::lock_guard lock(m);
      value = 42;
    }
    c.signal();
    EXPECT_EQ(result.recv(), 42);
  });
}

// Plain threads wait and signal on the same cond as goroutines.
TEST(Cond, ThreadsAndGoroutines) {
  goro::mutex m;
  goro::cond c(m);
  int turn = 0;  // guarded by m: whose turn, 0..3; threads take the even ones
  const int rounds = conformance::scaled(500);
  auto player = [&](int me) {
    for (int r = 0; r < rounds; r++) {
      std::unique_lock lock(m);
      while (turn != me) c.wait();
      turn = (turn + 1) % 4;
      c.broadcast();
    }
  };
  std::thread t0(player, 0), t2(player, 2);
  run_checked([&] {
    goro::wait_group wg;
    wg.add(2);
    goro::go([&] {
      player(1);
      wg.done();
    });
    goro::go([&] {
      player(3);
      wg.done();
    });
    wg.wait();
  });
  t0.join();
  t2.join();
  EXPECT_EQ(turn, 0);
}

}  // namespace
