// Port of golang.org/x/sync's semaphore/semaphore_test.go (TestWeighted, TestWeightedPanic,
// TestWeightedTryAcquire, TestWeightedAcquire, TestWeightedDoesntBlockIfTooBig,
// TestLargeAcquireDoesntStarve, TestAllocCancelDoesntStarve, and the later
// TestWeightedAcquireCanceled), then goro's additions: FIFO order, plain threads, the wait
// reason in dumps. Go's random sleeps while holding units become yields; where Go waits 100 ms
// for a request to be queued, these tests watch for it.
#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "conformance.hpp"

namespace {

using namespace std::chrono_literals;
using conformance::run_checked;

void hammer_weighted(goro::semaphore& sem, std::int64_t n, int loops, unsigned seed) {
  std::minstd_rand r(seed);
  for (int i = 0; i < loops; i++) {
    sem.acquire(n);
    for (unsigned k = r() % 4; k > 0; k--) goro::yield();  // hold the units a while
    sem.release(n);
  }
}

TEST(Semaphore, Weighted) {
  run_checked([] {
    const int n = 4;
    const int loops = conformance::scaled(10000) / n;
    goro::semaphore sem(n);
    goro::wait_group wg;
    wg.add(n);
    for (int i = 0; i < n; i++) {
      goro::go([&, i] {
        hammer_weighted(sem, i, loops, static_cast<unsigned>(i + 1));
        wg.done();
      });
    }
    wg.wait();
    EXPECT_TRUE(sem.try_acquire(n)) << "every unit is back";
  });
}

TEST(Semaphore, WeightedPanic) {
  goro::semaphore w(1);
  EXPECT_EQ(conformance::panic_text([&] { w.release(1); }), "semaphore: released more than held");
  EXPECT_TRUE(w.try_acquire(1)) << "the failed release changed nothing";
}

TEST(Semaphore, WeightedTryAcquire) {
  run_checked([] {
    goro::semaphore sem(2);
    std::vector<bool> tries;
    sem.acquire(goro::background(), 1);
    tries.push_back(sem.try_acquire(1));
    tries.push_back(sem.try_acquire(1));
    sem.release(2);
    tries.push_back(sem.try_acquire(1));
    sem.acquire(goro::background(), 1);
    tries.push_back(sem.try_acquire(1));
    EXPECT_EQ(tries, (std::vector<bool>{true, false, true, false}));
  });
}

TEST(Semaphore, WeightedAcquire) {
  run_checked([] {
    goro::semaphore sem(2);
    auto try_acquire = [&](std::int64_t n) {
      auto [ctx, cancel] = goro::with_timeout(goro::background(), 10ms);
      const bool ok = sem.acquire(ctx, n);
      cancel();
      return ok;
    };
    std::vector<bool> tries;
    sem.acquire(goro::background(), 1);
    tries.push_back(try_acquire(1));
    tries.push_back(try_acquire(1));
    sem.release(2);
    tries.push_back(try_acquire(1));
    sem.acquire(goro::background(), 1);
    tries.push_back(try_acquire(1));
    EXPECT_EQ(tries, (std::vector<bool>{true, false, true, false}));
  });
}

// A request larger than the semaphore waits for its context alone and holds nobody back.
TEST(Semaphore, WeightedDoesntBlockIfTooBig) {
  run_checked([] {
    const int n = 2;
    goro::semaphore sem(n);
    auto [big_ctx, cancel_big] = goro::with_cancel(goro::background());
    goro::wait_group big;
    big.add(1);
    goro::go([&, c = big_ctx] {
      EXPECT_FALSE(sem.acquire(c, n + 1));
      big.done();
    });
    goro::errgroup g(goro::background());
    for (int i = n * 3; i > 0; i--) {
      g.go([&sem, ctx = g.ctx()] {
        if (!sem.acquire(ctx, 1)) throw std::runtime_error("acquire failed");
        goro::yield();
        sem.release(1);
      });
    }
    EXPECT_NO_THROW(g.wait()) << "failed to acquire 1 with acquire(" << n + 1 << ") pending";
    cancel_big();
    big.wait();
  });
}

// A large acquire is not starved by small ones that keep coming back.
TEST(Semaphore, LargeAcquireDoesntStarve) {
  run_checked([] {
    const std::int64_t n = 4;
    goro::semaphore sem(n);
    std::atomic<bool> running{true};
    goro::wait_group wg;
    wg.add(static_cast<int>(n));
    for (std::int64_t i = n; i > 0; i--) {
      sem.acquire(1);
      goro::go([&] {
        while (running.load()) {
          goro::yield();
          sem.release(1);
          sem.acquire(1);
        }
        sem.release(1);
        wg.done();
      });
    }
    sem.acquire(n);  // returns only if the small ones cannot jump the queue for ever
    running = false;
    sem.release(n);
    wg.wait();
  });
}

// A queued large request that gives up lets the smaller requests queued behind it through.
TEST(Semaphore, AllocCancelDoesntStarve) {
  run_checked([] {
    goro::semaphore sem(10);
    sem.acquire(1);  // hold one "read lock"
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    goro::wait_group wg;
    wg.add(2);
    goro::go([&, c = ctx] {
      EXPECT_FALSE(sem.acquire(c, 10));  // a "write lock" that gives up
      wg.done();
    });
    // Queued once try_acquire fails with a unit free (it fails only for a waiter in front).
    while (sem.try_acquire(1)) {
      sem.release(1);
      goro::yield();
    }
    auto ids = goro::make_chan<std::uint64_t>(1);
    auto acquired = goro::make_chan<goro::signal>(1);
    goro::go([&, ids, acquired] {
      ids.send(goro::goroutine_id());
      EXPECT_TRUE(sem.acquire(goro::background(), 1));  // queued behind the write lock
      sem.release(1);
      acquired.send({});
      wg.done();
    });
    goro_test::wait_until_parked(*ids.recv(), "select");
    cancel();  // Go: the write lock's 300 ms timeout
    acquired.recv();
    wg.wait();
    sem.release(1);
  });
}

// x/sync since 2023: a context already done fails even when the units are free.
TEST(Semaphore, WeightedAcquireCanceled) {
  run_checked([] {
    goro::semaphore sem(2);
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    cancel();
    EXPECT_FALSE(sem.acquire(ctx, 1));
    EXPECT_TRUE(sem.try_acquire(2)) << "nothing was taken";
  });
}

// ---- goro's additions ------------------------------------------------------------------------

// Waiters are served in arrival order; one that does not fit holds back smaller ones behind it.
TEST(Semaphore, FifoAndNoOvertaking) {
  run_checked([] {
    goro::semaphore sem(3);
    sem.acquire(3);
    auto order = goro::make_chan<int>(3);
    auto ids = goro::make_chan<std::uint64_t>(1);
    goro::wait_group wg;
    const std::int64_t wants[] = {2, 3, 1};
    for (int i = 0; i < 3; i++) {
      wg.add(1);
      goro::go([&, i, order, ids] {
        ids.send(goro::goroutine_id());
        sem.acquire(wants[i]);
        order.send(i);
        sem.release(wants[i]);
        wg.done();
      });
      goro_test::wait_until_parked(*ids.recv(), "select");
    }
    sem.release(1);  // 1 free: the front waiter wants 2, so nobody moves, not even the "1"
    EXPECT_FALSE(sem.try_acquire(1)) << "try_acquire must not overtake waiters";
    sem.release(2);
    EXPECT_EQ(order.recv(), 0);
    EXPECT_EQ(order.recv(), 1);
    EXPECT_EQ(order.recv(), 2);
    wg.wait();
  });
}

// Plain threads and goroutines share one semaphore; at most `size` units are out at once.
TEST(Semaphore, ThreadsAndGoroutines) {
  goro::semaphore sem(3);
  std::atomic<int> out{0};
  std::atomic<int> worst{0};
  const int loops = conformance::scaled(2000);
  auto work = [&](std::int64_t n) {
    for (int i = 0; i < loops; i++) {
      sem.acquire(n);
      const int now = out.fetch_add(static_cast<int>(n)) + static_cast<int>(n);
      int w = worst.load();
      while (now > w && !worst.compare_exchange_weak(w, now)) {
      }
      out.fetch_sub(static_cast<int>(n));
      sem.release(n);
    }
  };
  std::thread t1(work, 1), t2(work, 2);
  run_checked([&] {
    goro::wait_group wg;
    for (int g = 0; g < 4; g++) {
      wg.add(1);
      goro::go([&, g] {
        work(1 + g % 3);
        wg.done();
      });
    }
    wg.wait();
  });
  t1.join();
  t2.join();
  EXPECT_LE(worst.load(), 3);
  EXPECT_TRUE(sem.try_acquire(3));
}

}  // namespace
