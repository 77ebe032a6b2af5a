// wait_group and mutex, used from goroutines and plain threads; destroying them once idle,
// and the shared-ownership pattern that replaces Go's closure over a local WaitGroup.
#include <array>
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
    wg2.done();  // the failed add(-2) changed nothing: the counter is still 1, and a
                 // wait_group destroyed with a non-zero counter is a panic of its own
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

// The documented fix for Go's closure over a local WaitGroup (go func() { defer wg.Done() ...
// }() in a function that returns at once): the goroutines share ownership of the wait_group,
// so it outlives the function that made it. start_pool() has returned before any job is sent,
// so every done() and the wait() run on a wait_group whose creator's frame is gone.
void start_pool(goro::recv_chan<int> jobs, goro::chan<int> results, int workers) {
  auto wg = std::make_shared<goro::wait_group>();
  for (int i = 0; i < workers; ++i) {
    wg->add(1);
    goro::go([wg, jobs, results]() mutable {
      for (int j : jobs) results.send(2 * j);
      wg->done();
    });
  }
  goro::go([wg, results]() mutable {
    wg->wait();
    results.close();
  });
}

TEST_F(wait_group_test, SharedWaitGroupOutlivesItsFunction) {
  const int jobs_count = static_cast<int>(scaled(2000, 500, 200));
  goro::run([&] {
    auto jobs = goro::make_chan<int>();
    auto results = goro::make_chan<int>();
    start_pool(jobs, results, 4);
    goro::go([jobs]() mutable {
      for (int j = 1; j <= jobs_count; ++j) jobs.send(j);
      jobs.close();
    });
    long sum = 0;
    for (int r : results) sum += r;
    EXPECT_EQ(sum, static_cast<long>(jobs_count) * (jobs_count + 1));
  });
}

// The other fix: the wait_group lives in the goroutine that waits, which returns only after
// wait(). Here that goroutine is not run's main one, and main learns of its end by a channel.
TEST_F(wait_group_test, OwnedByTheGoroutineThatWaits) {
  goro::run([] {
    auto total = goro::make_chan<int>(1);
    goro::go([total]() mutable {
      goro::wait_group wg;
      std::atomic<int> sum{0};
      for (int i = 1; i <= 10; ++i) {
        wg.add(1);
        goro::go([&wg, &sum, i] {
          sum.fetch_add(i);
          wg.done();
        });
      }
      wg.wait();  // before wg and sum go out of scope
      total.send(sum.load());
    });
    EXPECT_EQ(*total.recv(), 55);
  });
}

// Small objects, still constant-initialized, and Lockable arrays of them still build.
constinit goro::wait_group global_wait_group;
constinit goro::mutex global_mutex;
static_assert(sizeof(goro::wait_group) <= 5 * sizeof(void*));
static_assert(sizeof(goro::mutex) <= 5 * sizeof(void*));
static_assert(std::is_nothrow_default_constructible_v<goro::wait_group>);
static_assert(std::is_nothrow_default_constructible_v<goro::mutex>);

// A wait_group back at zero may be destroyed anywhere: never used, added and done, waited on.
// (Destroying one with a non-zero counter is a panic: tests/death.)
TEST_F(wait_group_test, DestroyedIdleIsFine) {
  { goro::wait_group never_used; }
  {
    goro::wait_group wg;
    wg.add(3);
    wg.add(-3);
    wg.wait();
  }
  std::array<goro::wait_group, 4> several{};
  for (auto& wg : several) wg.add(1);
  global_wait_group.add(1);
  goro::run([&] {
    for (auto& wg : several) goro::go([&wg] { wg.done(); });
    goro::go([] { global_wait_group.done(); });
    for (auto& wg : several) wg.wait();
    global_wait_group.wait();
    // Released by a done() on a plain thread, destroyed by the goroutine that waited.
    auto wg = std::make_unique<goro::wait_group>();
    wg->add(1);
    std::thread t([&wg] { wg->done(); });
    wg->wait();
    wg.reset();
    t.join();
  });
}

// An unlocked mutex may be destroyed anywhere: never locked, locked and unlocked, handed
// from holder to holder under contention and then released by the last one.
TEST_F(mutex_test, DestroyedUnlockedIsFine) {
  { goro::mutex never_locked; }
  {
    goro::mutex m = {};
    m.lock();
    m.unlock();
    // Not ASSERT_TRUE(m.try_lock()): clang's thread-safety analysis must see the branch on it.
    if (!m.try_lock()) FAIL() << "try_lock() failed on an unlocked mutex";
    m.unlock();
  }
  std::array<goro::mutex, 3> several{};
  { std::scoped_lock all(several[0], several[1], several[2], global_mutex); }
  goro::run([] {
    for (int round = 0; round < 20; ++round) {
      auto m = std::make_unique<goro::mutex>();
      goro::wait_group wg;
      int counter = 0;
      m->lock();  // held while the others queue up, so that unlock() hands it over
      for (int i = 0; i < 8; ++i) {
        wg.add(1);
        goro::go([&] {
          m->lock();
          ++counter;
          goro::yield();
          m->unlock();
          wg.done();
        });
      }
      goro::yield();
      m->unlock();
      wg.wait();
      EXPECT_EQ(counter, 8);
      m.reset();  // every holder has unlocked it, and nobody waits
    }
  });
}

TEST_F(mutex_test, LockUnlockTryLock) {
  goro::run([] {
    goro::mutex m;
    if (!m.try_lock()) FAIL() << "try_lock() failed on an unlocked mutex";  // not ASSERT_TRUE:
    // see DestroyedUnlockedIsFine. Seen from another goroutine: held.
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
    pool.reserve(threads);
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
