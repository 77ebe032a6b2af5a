// Port of Go 1.19's src/sync/rwmutex_test.go (TestParallelReaders, TestRWMutex with its
// HammerRWMutex runs, TestRLocker), then what goro's rwmutex adds to it: the panics, writer
// preference, std::shared_lock, plain threads and the wait reasons in dumps.
#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "conformance.hpp"

namespace {

using conformance::run_checked;

// ---- TestParallelReaders -----------------------------------------------------------------

void parallel_reader(goro::rwmutex& m, goro::chan<bool> clocked, goro::chan<bool> cunlock,
                     goro::chan<bool> cdone) {
  m.lock_shared();
  clocked.send(true);
  cunlock.recv();
  m.unlock_shared();
  cdone.send(true);
}

// Every reader holds the read lock at once: each reports in while the others still hold it.
void do_test_parallel_readers(int num_readers) {
  goro::rwmutex m;
  auto clocked = goro::make_chan<bool>();
  auto cunlock = goro::make_chan<bool>();
  auto cdone = goro::make_chan<bool>();
  for (int i = 0; i < num_readers; i++)
    goro::go([&m, clocked, cunlock, cdone] { parallel_reader(m, clocked, cunlock, cdone); });
  for (int i = 0; i < num_readers; i++) clocked.recv();  // all RLocks succeeded
  for (int i = 0; i < num_readers; i++) cunlock.send(true);
  for (int i = 0; i < num_readers; i++) cdone.recv();
}

TEST(RWMutex, ParallelReaders) {
  run_checked([] {
    do_test_parallel_readers(1);
    do_test_parallel_readers(3);
    do_test_parallel_readers(4);
  });
}

// ---- TestRWMutex ------------------------------------------------------------------------------

// Go's empty `for i := 0; i < 100; i++ {}`, kept by the optimizer.
void busy_loop() {
  for (int k = 0; k < 100; k++) std::atomic_signal_fence(std::memory_order_seq_cst);
}

// activity: readers inside + 10000 per writer inside.
void reader(goro::rwmutex& rwm, int iterations, std::atomic<int>& activity, goro::chan<bool> done) {
  for (int i = 0; i < iterations; i++) {
    rwm.lock_shared();
    const int n = activity.fetch_add(1) + 1;
    EXPECT_TRUE(n >= 1 && n < 10000) << "rlock(" << n << ")";
    busy_loop();
    activity.fetch_sub(1);
    rwm.unlock_shared();
  }
  done.send(true);
}

void writer(goro::rwmutex& rwm, int iterations, std::atomic<int>& activity, goro::chan<bool> done) {
  for (int i = 0; i < iterations; i++) {
    rwm.lock();
    const int n = activity.fetch_add(10000) + 10000;
    EXPECT_EQ(n, 10000) << "wlock(" << n << ")";
    busy_loop();
    activity.fetch_sub(10000);
    rwm.unlock();
  }
  done.send(true);
}

void hammer_rwmutex(int num_readers, int iterations) {
  std::atomic<int> activity{0};
  goro::rwmutex rwm;
  auto done = goro::make_chan<bool>();
  goro::go([&] { writer(rwm, iterations, activity, done); });
  int i = 0;
  for (; i < num_readers / 2; i++) goro::go([&] { reader(rwm, iterations, activity, done); });
  goro::go([&] { writer(rwm, iterations, activity, done); });
  for (; i < num_readers; i++) goro::go([&] { reader(rwm, iterations, activity, done); });
  for (int k = 0; k < 2 + num_readers; k++) done.recv();
}

TEST(RWMutex, TryLockAndHammer) {
  run_checked([] {
    goro::rwmutex m;
    m.lock();
    EXPECT_FALSE(m.try_lock()) << "try_lock succeeded with the mutex locked";
    EXPECT_FALSE(m.try_lock_shared()) << "try_lock_shared succeeded with the mutex locked";
    m.unlock();

    EXPECT_TRUE(m.try_lock()) << "try_lock failed with the mutex unlocked";
    m.unlock();

    EXPECT_TRUE(m.try_lock_shared()) << "try_lock_shared failed with the mutex unlocked";
    EXPECT_TRUE(m.try_lock_shared()) << "try_lock_shared failed with the mutex read-locked";
    EXPECT_FALSE(m.try_lock()) << "try_lock succeeded with the mutex read-locked";
    m.unlock_shared();
    m.unlock_shared();

    // Go runs each at GOMAXPROCS 1, 4 and 10; here the ctest variant sets the worker count.
    const int n = conformance::scaled(1000);
    for (int readers : {1, 3, 10, 5}) hammer_rwmutex(readers, n);
  });
}

// ---- TestRLocker --------------------------------------------------------------------------
// Go's RLocker() is a Locker whose Lock/Unlock are RLock/RUnlock: std::shared_lock here.

TEST(RWMutex, RLocker) {
  run_checked([] {
    goro::rwmutex wl;
    auto wlocked = goro::make_chan<bool>(1);
    auto rlocked = goro::make_chan<bool>(1);
    const int n = 10;
    goro::go([&wl, wlocked, rlocked] {
      for (int i = 0; i < n; i++) {
        wl.lock_shared();
        wl.lock_shared();
        rlocked.send(true);
        wl.lock();
        wlocked.send(true);
      }
    });
    for (int i = 0; i < n; i++) {
      rlocked.recv();
      wl.unlock_shared();
      bool early = false;
      goro::select(goro::on_recv(wlocked, [&] { early = true; }), goro::on_default([] {}));
      ASSERT_FALSE(early) << "the read lock did not hold the writer back";
      wl.unlock_shared();
      wlocked.recv();
      bool reread = false;
      goro::select(goro::on_recv(rlocked, [&] { reread = true; }), goro::on_default([] {}));
      ASSERT_FALSE(reread) << "a read lock was taken while the writer held the lock";
      wl.unlock();
    }
  });
}

// ---- goro's additions ------------------------------------------------------------------------

TEST(RWMutex, UnlockOfUnlockedPanics) {
  run_checked([] {
    goro::rwmutex m;
    EXPECT_EQ(conformance::panic_text([&] { m.unlock(); }), "sync: Unlock of unlocked RWMutex");
    EXPECT_EQ(conformance::panic_text([&] { m.unlock_shared(); }),
              "sync: RUnlock of unlocked RWMutex");
    m.lock();  // a writer in: an RUnlock is still one too many
    EXPECT_EQ(conformance::panic_text([&] { m.unlock_shared(); }),
              "sync: RUnlock of unlocked RWMutex");
    m.unlock();
    m.lock_shared();  // readers only: an Unlock is one too many
    EXPECT_EQ(conformance::panic_text([&] { m.unlock(); }), "sync: Unlock of unlocked RWMutex");
    m.unlock_shared();
    // The panics left the mutex as it was: it still works both ways.
    EXPECT_TRUE(m.try_lock());
    m.unlock();
    EXPECT_TRUE(m.try_lock_shared());
    m.unlock_shared();
  });
}

// Writer preference: with a reader inside and a writer waiting, a new reader waits too, and
// gets in only after the writer has had its turn. Each records its turn while it holds the lock,
// so the order is the lock's, not the scheduler's.
TEST(RWMutex, BlockedWriterHoldsBackNewReaders) {
  run_checked([] {
    goro::rwmutex m;
    goro::wait_group wg;
    auto order = goro::make_chan<char>(3);
    auto ids = goro::make_chan<std::uint64_t>(1);
    m.lock_shared();
    wg.add(2);
    goro::go([&m, &wg, order, ids] {
      ids.send(goro::goroutine_id());
      m.lock();
      order.send('W');
      m.unlock();
      wg.done();
    });
    goro_test::wait_until_parked(*ids.recv(), "sync.RWMutex.Lock");
    EXPECT_FALSE(m.try_lock_shared()) << "a waiting writer must hold back new readers";
    goro::go([&m, &wg, order, ids] {
      ids.send(goro::goroutine_id());
      {
        std::shared_lock lock(m);
        order.send('R');
      }
      wg.done();
    });
    goro_test::wait_until_parked(*ids.recv(), "sync.RWMutex.RLock");
    order.send('0');  // still inside as the only reader
    m.unlock_shared();
    wg.wait();  // both are out of m before it goes
    EXPECT_EQ(order.recv(), '0');
    EXPECT_EQ(order.recv(), 'W');
    EXPECT_EQ(order.recv(), 'R');
  });
}

// Readers held back by a writer go before the next writer.
TEST(RWMutex, HeldBackReadersGoBeforeTheNextWriter) {
  run_checked([] {
    goro::rwmutex m;
    auto order = goro::make_chan<char>(4);
    auto ids = goro::make_chan<std::uint64_t>(1);
    m.lock();
    for (int i = 0; i < 2; i++) {
      goro::go([&m, order, ids] {
        ids.send(goro::goroutine_id());
        m.lock_shared();
        order.send('R');
        m.unlock_shared();
      });
      goro_test::wait_until_parked(*ids.recv(), "sync.RWMutex.RLock");
    }
    goro::go([&m, order, ids] {
      ids.send(goro::goroutine_id());
      { std::lock_guard lock(m); }
      order.send('W');
    });
    // Queued behind the writer inside, on the writers' mutex: Go's dump says sync.Mutex.Lock.
    goro_test::wait_until_parked(*ids.recv(), "sync.Mutex.Lock");
    m.unlock();
    EXPECT_EQ(order.recv(), 'R');
    EXPECT_EQ(order.recv(), 'R');
    EXPECT_EQ(order.recv(), 'W');
  });
}

// Plain threads and goroutines share one rwmutex; a thread blocks as a goroutine parks.
TEST(RWMutex, ThreadsAndGoroutines) {
  goro::rwmutex m;
  long counter = 0;  // written under the write lock only
  const int n = conformance::scaled(2000);
  std::atomic<long> reads{0};
  auto work = [&] {
    for (int i = 0; i < n; i++) {
      if (i % 4 == 0) {
        std::unique_lock lock(m);
        counter++;
      } else {
        std::shared_lock lock(m);
        reads.fetch_add(counter >= 0 ? 1 : 0);
      }
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(2);
  for (int t = 0; t < 2; t++) threads.emplace_back(work);
  run_checked([&] {
    goro::wait_group wg;
    for (int g = 0; g < 4; g++) {
      wg.add(1);
      goro::go([&] {
        work();
        wg.done();
      });
    }
    wg.wait();
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 6L * ((n + 3) / 4));
  EXPECT_EQ(reads.load(), 6L * (n - (n + 3) / 4));
}

}  // namespace
