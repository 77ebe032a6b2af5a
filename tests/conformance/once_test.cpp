// Port of Go 1.19's src/sync/once_test.go (TestOnce, TestOncePanic), then goro's additions:
// callers that arrive during the first call wait for it (and show [sync.Mutex.Lock] in dumps),
// a throwing first call, plain threads.
#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "conformance.hpp"

namespace {

using conformance::run_checked;

TEST(Once, Once) {
  run_checked([] {
    int o = 0;
    goro::once once;
    auto c = goro::make_chan<bool>();
    const int n = 10;
    for (int i = 0; i < n; i++) {
      goro::go([&, c] {
        once.call([&] { o++; });
        EXPECT_EQ(o, 1) << "once failed inside run";
        c.send(true);
      });
    }
    for (int i = 0; i < n; i++) c.recv();
    EXPECT_EQ(o, 1) << "once failed outside run";
  });
}

// As Go's panicking f: the exception leaves the first call, and the once counts as done.
TEST(Once, ThrowingFirstCallCountsAsDone) {
  run_checked([] {
    goro::once once;
    EXPECT_THROW(once.call([] { throw std::runtime_error("failed"); }), std::runtime_error);
    once.call([] { ADD_FAILURE() << "once.call ran f twice"; });
  });
}

// ---- goro's additions ------------------------------------------------------------------------

// A caller that arrives while f runs waits until f has returned, then sees its effects.
TEST(Once, LateCallersWaitForTheFirst) {
  run_checked([] {
    goro::once once;
    int value = 0;  // written by f only, read after call() returns
    auto inside = goro::make_chan<goro::signal>();
    auto finish = goro::make_chan<goro::signal>();
    auto ids = goro::make_chan<std::uint64_t>(1);
    auto seen = goro::make_chan<int>(1);
    goro::go([&, inside, finish] {
      once.call([&] {
        inside.send({});
        finish.recv();
        value = 7;
      });
    });
    inside.recv();  // the first f is running
    goro::go([&, ids, seen] {
      ids.send(goro::goroutine_id());
      once.call([] { ADD_FAILURE() << "second f ran"; });
      seen.send(value);
    });
    goro_test::wait_until_parked(*ids.recv(), "sync.Mutex.Lock");
    finish.send({});
    EXPECT_EQ(seen.recv(), 7);
  });
}

// The callers that waited for a throwing first call return without running their f.
TEST(Once, WaitersOfAThrowingCallReturn) {
  run_checked([] {
    goro::once once;
    auto inside = goro::make_chan<goro::signal>();
    auto finish = goro::make_chan<goro::signal>();
    auto ids = goro::make_chan<std::uint64_t>(1);
    auto thrown = goro::make_chan<bool>(1);
    goro::wait_group wg;
    wg.add(1);
    goro::go([&, inside, finish, thrown] {
      try {
        once.call([&] {
          inside.send({});
          finish.recv();
          throw std::runtime_error("first");
        });
        thrown.send(false);
      } catch (const std::runtime_error&) {
        thrown.send(true);
      }
    });
    inside.recv();
    goro::go([&, ids] {
      ids.send(goro::goroutine_id());
      once.call([] { ADD_FAILURE() << "f ran after a throwing first call"; });
      wg.done();
    });
    goro_test::wait_until_parked(*ids.recv(), "sync.Mutex.Lock");
    finish.send({});
    EXPECT_EQ(thrown.recv(), true);
    wg.wait();
  });
}

// Threads and goroutines racing for one once: f runs exactly once.
TEST(Once, ThreadsAndGoroutines) {
  for (int round = 0; round < conformance::scaled(50); round++) {
    goro::once once;
    std::atomic<int> calls{0};
    std::vector<std::thread> threads;
    threads.reserve(2);
    for (int t = 0; t < 2; t++)
      threads.emplace_back([&] { once.call([&] { calls.fetch_add(1); }); });
    run_checked([&] {
      goro::wait_group wg;
      for (int g = 0; g < 4; g++) {
        wg.add(1);
        goro::go([&] {
          once.call([&] {
            calls.fetch_add(1);
            goro::yield();  // others arrive meanwhile
          });
          wg.done();
        });
      }
      wg.wait();
    });
    for (auto& t : threads) t.join();
    EXPECT_EQ(calls.load(), 1);
  }
}

}  // namespace
