// wait_group and mutex, used from goroutines and plain threads.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"

namespace {

using goro_test::runtime_test;
using goro_test::scaled;

using wait_group_test = runtime_test;
using mutex_test = runtime_test;

TEST_F(wait_group_test, WaitReturnsAtOnceAtZero) {
  goro::wait_group wg;
  wg.wait();  // plain thread
  goro::run([&] {
    wg.wait();
    wg.add(2);
    wg.add(-2);
    wg.wait();
  });
}

TEST_F(wait_group_test, GoroutinesDoneGoroutineWaits) {
  constexpr int n = 1000;
  std::atomic<int> finished{0};
  goro::run([&] {
    goro::wait_group wg;
    for (int i = 0; i < n; ++i) {
      wg.add(1);
      goro::go([&] {
        goro::yield();
        finished.fetch_add(1);
        wg.done();
      });
    }
    wg.wait();
    // Everything each goroutine did before done() is visible after wait().
    EXPECT_EQ(finished.load(std::memory_order_relaxed), n);
  });
}

TEST_F(wait_group_test, AddManyAtOnceAndReuse) {
  goro::run([] {
    goro::wait_group wg;
    for (int round = 0; round < 20; ++round) {
      int values[8] = {};
      wg.add(8);
      for (int i = 0; i < 8; ++i) {
        goro::go([&wg, &values, i, round] {
          values[i] = round + i;  // plain write, published by done()/wait()
          wg.done();
        });
      }
      wg.wait();
      for (int i = 0; i < 8; ++i) ASSERT_EQ(values[i], round + i);
    }
  });
}

TEST_F(wait_group_test, SeveralWaitersAllReleased) {
  goro::run([] {
    goro::wait_group gate, waiters;
    gate.add(1);
    std::atomic<int> released{0};
    for (int i = 0; i < 50; ++i) {
      waiters.add(1);
      goro::go([&] {
        gate.wait();
        released.fetch_add(1);
        waiters.done();
      });
    }
    // A plain thread waits on the same wait_group as the goroutines.
    std::thread thread_waiter([&] {
      gate.wait();
      released.fetch_add(1);
    });
    EXPECT_EQ(released.load(), 0);
    gate.done();
    waiters.wait();
    thread_waiter.join();
    EXPECT_EQ(released.load(), 51);
  });
}

TEST_F(wait_group_test, PlainThreadsDoneGoroutineWaits) {
  goro::run([] {
    goro::wait_group wg;
    std::atomic<int> work{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      wg.add(1);
      threads.emplace_back([&] {
        work.fetch_add(1, std::memory_order_relaxed);
        wg.done();
      });
    }
    wg.wait();
    EXPECT_EQ(work.load(std::memory_order_relaxed), 4);
    for (auto& t : threads) t.join();
  });
}

TEST_F(wait_group_test, GoroutinesDonePlainThreadWaits) {
  // No run() in progress: go() starts the runtime lazily.
  goro::wait_group wg;
  std::atomic<int> work{0};
  for (int i = 0; i < 100; ++i) {
    wg.add(1);
    goro::go([&] {
      work.fetch_add(1, std::memory_order_relaxed);
      wg.done();
    });
  }
  wg.wait();
  EXPECT_EQ(work.load(std::memory_order_relaxed), 100);
}

// The thread that called run() blocks in goro calls afterwards: a wakeup left over from run()
// must not make wait() return before the counter reaches zero.
TEST_F(wait_group_test, PlainThreadWaitAfterRunWaitsForDone) {
  const int rounds = static_cast<int>(scaled(2000, 500, 200));
  for (int i = 0; i < rounds; ++i) {
    goro::run([] {});
    goro::wait_group wg;
    wg.add(1);
    std::atomic<bool> finished{false};
    goro::go([&] {
      goro::sleep_for(std::chrono::microseconds(20));
      finished = true;
      wg.done();
    });
    wg.wait();
    ASSERT_TRUE(finished.load()) << "wait() returned before done(), round " << i;
  }
}

TEST_F(wait_group_test, NegativeCounterThrowsPanicError) {
  auto expect_negative_panic = [](auto&& op) {
    try {
      op();
      ADD_FAILURE() << "no panic_error";
    } catch (const goro::panic_error& e) {
      EXPECT_STREQ(e.what(), "sync: negative WaitGroup counter");
    }
  };
  goro::run([&] {
    goro::wait_group wg;
    expect_negative_panic([&] { wg.done(); });
    goro::wait_group wg2;
    wg2.add(1);
    expect_negative_panic([&] { wg2.add(-2); });
    // In another goroutine too (caught there, so it is not a crash).
    goro::wait_group finished;
    finished.add(1);
    goro::go([&] {
      goro::wait_group local;
      expect_negative_panic([&] { local.add(-1); });
      finished.done();
    });
    finished.wait();
  });
  // And on a plain thread.
  goro::wait_group wg;
  expect_negative_panic([&] { wg.done(); });
  static_assert(std::is_base_of_v<std::logic_error, goro::panic_error>);
}

// Like std::latch, a wait_group may be destroyed as soon as wait() returns, even though the
// done() that released it may still be running. ASan reports any touch after the delete.
TEST_F(wait_group_test, DestroyedRightAfterWait) {
  const int rounds = static_cast<int>(scaled(20000, 5000, 2000));
  goro::run([&] {
    for (int i = 0; i < rounds; ++i) {
      auto* wg = new goro::wait_group;
      const int doers = 1 + i % 3;
      wg->add(doers);
      for (int d = 0; d < doers; ++d) goro::go([wg] { wg->done(); });
      wg->wait();
      delete wg;
    }
  });
}

TEST_F(wait_group_test, DestroyedRightAfterWaitAcrossThreads) {
  const int rounds = static_cast<int>(scaled(2000, 1000, 300));
  // A plain thread waits, a goroutine releases.
  for (int i = 0; i < rounds; ++i) {
    auto* wg = new goro::wait_group;
    wg->add(1);
    goro::go([wg] { wg->done(); });
    wg->wait();
    delete wg;
  }
  // A goroutine waits, a plain thread releases.
  goro::run([&] {
    for (int i = 0; i < rounds; ++i) {
      auto* wg = new goro::wait_group;
      wg->add(1);
      std::thread t([wg] { wg->done(); });
      wg->wait();
      delete wg;
      t.join();
    }
  });
}

TEST_F(mutex_test, LockUnlockTryLock) {
  goro::run([] {
    goro::mutex m;
    EXPECT_TRUE(m.try_lock());
    // Seen from another goroutine: held.
    auto result = goro::make_chan<bool>();
    goro::go([&m, result]() mutable { result.send(m.try_lock()); });
    EXPECT_FALSE(*result.recv());
    m.unlock();
    goro::go([&m, result]() mutable {
      const bool got = m.try_lock();
      if (got) m.unlock();
      result.send(got);
    });
    EXPECT_TRUE(*result.recv());
    m.lock();
    m.unlock();
  });
}

TEST_F(mutex_test, BlockedLockProceedsAfterUnlock) {
  goro::run([] {
    goro::mutex m;
    m.lock();
    auto started = goro::make_chan<goro::signal>();
    auto acquired = goro::make_chan<int>(1);
    int protected_value = 0;
    goro::go([&, started, acquired]() mutable {
      started.send({});
      m.lock();
      int seen = protected_value;
      m.unlock();  // before the send: once main has the value, run() returns and m is gone
      acquired.send(seen);
    });
    started.recv();
    protected_value = 42;  // still ours: the other goroutine is stuck in lock()
    int early = 0;
    EXPECT_EQ(acquired.try_recv(early), goro::status::not_ready);
    m.unlock();
    EXPECT_EQ(*acquired.recv(), 42);
  });
}

TEST_F(mutex_test, StandardLockWrappersWork) {
  static_assert(std::is_default_constructible_v<goro::mutex>);
  goro::run([] {
    goro::mutex a, b;
    int counter = 0;
    goro::wait_group wg;
    for (int i = 0; i < 4; ++i) {
      wg.add(1);
      goro::go([&, i] {
        for (int k = 0; k < 100; ++k) {
          switch ((i + k) % 3) {
            case 0: {
              std::lock_guard<goro::mutex> g(a);
              ++counter;
              goro::yield();
              break;
            }
            case 1: {
              std::unique_lock<goro::mutex> g(a, std::defer_lock);
              if (!g.try_lock()) g.lock();
              EXPECT_TRUE(g.owns_lock());
              ++counter;
              goro::yield();
              g.unlock();
              break;
            }
            default: {
              // scoped_lock locks both without deadlock (std::lock's try-and-back-off).
              std::scoped_lock g(b, a);
              ++counter;
              goro::yield();
              break;
            }
          }
        }
        wg.done();
      });
    }
    wg.wait();
    EXPECT_EQ(counter, 400);
  });
}

// The counter is a plain int: only mutual exclusion (and the happens-before of unlock ->
// lock) keeps it exact. Goroutines park while holding the lock to force contention.
TEST_F(mutex_test, CounterExactUnderContention) {
  constexpr int goroutines = 32;
  const int increments = static_cast<int>(scaled(500, 200, 100));
  long counter = 0;
  std::atomic<int> inside{0};
  goro::run([&] {
    goro::mutex m;
    goro::wait_group wg;
    for (int g = 0; g < goroutines; ++g) {
      wg.add(1);
      goro::go([&, g] {
        for (int i = 0; i < increments; ++i) {
          m.lock();
          EXPECT_EQ(inside.fetch_add(1), 0) << "two holders at once";
          const long seen = counter;
          if ((g + i) % 4 == 0) {
            goro::yield();
          } else if ((g + i) % 4 == 1) {
            goro::sleep_for(std::chrono::microseconds(1));
          }
          counter = seen + 1;
          inside.fetch_sub(1);
          m.unlock();
        }
        wg.done();
      });
    }
    wg.wait();
  });
  EXPECT_EQ(counter, static_cast<long>(goroutines) * increments);
}

TEST_F(mutex_test, SharedByPlainThreadsAndGoroutines) {
  constexpr int goroutines = 8;
  constexpr int threads = 3;
  const int increments = static_cast<int>(scaled(2000, 1000, 300));
  long counter = 0;
  std::atomic<int> inside{0};
  goro::mutex m;
  auto bump = [&] {
    for (int i = 0; i < increments; ++i) {
      std::lock_guard<goro::mutex> g(m);
      EXPECT_EQ(inside.fetch_add(1), 0) << "two holders at once";
      ++counter;
      if (i % 16 == 0) goro::yield();  // a goroutine yields its worker, a thread its core
      inside.fetch_sub(1);
    }
  };
  goro::run([&] {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(bump);
    goro::wait_group wg;
    for (int g = 0; g < goroutines; ++g) {
      wg.add(1);
      goro::go([&] {
        bump();
        wg.done();
      });
    }
    wg.wait();
    for (auto& t : pool) t.join();
  });
  EXPECT_EQ(counter, static_cast<long>(goroutines + threads) * increments);
}

}  // namespace
