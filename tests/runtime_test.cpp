// Scheduler and runtime entry points: run, go, yield, goroutine_id, num_goroutine, and the
// scale a user relies on (a million short goroutines, a hundred thousand parked at once).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test_util.hpp"

namespace {

using goro_test::runtime_test;
using goro_test::scaled;

using run_test = runtime_test;

TEST_F(run_test, ReturnsMainResult) {
  EXPECT_EQ(goro::run([] { return 42; }), 42);
  EXPECT_EQ(goro::run([] { return -7; }), -7);
  bool ran = false;
  EXPECT_EQ(goro::run([&] { ran = true; }), 0);
  EXPECT_TRUE(ran);
}

TEST_F(run_test, CalledManyTimesInOneProcess) {
  for (int round = 0; round < 100; ++round) {
    const int result = goro::run([round] {
      goro::wait_group wg;
      std::atomic<int> sum{0};
      for (int i = 1; i <= 10; ++i) {
        wg.add(1);
        goro::go([&, i] {
          sum += i;
          wg.done();
        });
      }
      wg.wait();
      return round + sum.load();
    });
    ASSERT_EQ(result, round + 55) << "round " << round;
  }
}

// Like Go's main, run returns when its function does, without waiting for other goroutines:
// here one is still blocked when run returns, and a plain thread releases it afterwards.
TEST_F(run_test, DoesNotWaitForOtherGoroutines) {
  auto release = goro::make_chan<int>();
  auto finished = goro::make_chan<int>(1);
  goro::run([&] { goro::go([release, finished] { finished.send(*release.recv() + 1); }); });
  // Still alive: it cannot finish before the release (run's own goroutine may still be exiting,
  // so the count is not exact here).
  EXPECT_GE(goro::num_goroutine(), 1u);
  release.send(41);
  EXPECT_EQ(*finished.recv(), 42);
}

TEST_F(run_test, MainIsGoroutineOneAndPlainThreadsAreZero) {
  EXPECT_EQ(goro::goroutine_id(), 0u);
  std::uint64_t on_thread = 99;
  std::thread([&] { on_thread = goro::goroutine_id(); }).join();
  EXPECT_EQ(on_thread, 0u);

  for (int round = 0; round < 3; ++round) {
    std::vector<std::uint64_t> ids;
    goro::run([&] {
      EXPECT_EQ(goro::goroutine_id(), 1u);
      auto ch = goro::make_chan<std::uint64_t>();
      constexpr int n = 50;
      for (int i = 0; i < n; ++i) goro::go([ch]() mutable { ch.send(goro::goroutine_id()); });
      for (int i = 0; i < n; ++i) ids.push_back(*ch.recv());
      // Still goroutine 1 after parking (and, with several workers, maybe resuming elsewhere).
      EXPECT_EQ(goro::goroutine_id(), 1u);
    });
    const std::set<std::uint64_t> unique(ids.begin(), ids.end());
    EXPECT_EQ(unique.size(), ids.size()) << "goroutine ids must be unique";
    EXPECT_EQ(unique.count(0), 0u);
    EXPECT_EQ(unique.count(1), 0u) << "only run's main goroutine is goroutine 1";
  }
  EXPECT_EQ(goro::goroutine_id(), 0u);
}

TEST_F(run_test, NumGoroutineCountsLiveGoroutines) {
  EXPECT_EQ(goro::num_goroutine(), 0u);
  goro::run([] {
    EXPECT_EQ(goro::num_goroutine(), 1u);
    auto release = goro::make_chan<goro::signal>();
    goro::wait_group wg;
    for (int i = 0; i < 10; ++i) {
      wg.add(1);
      goro::go([&wg, release]() mutable {
        release.recv();
        wg.done();
      });
      // Counted from the moment go() returns, whether or not it has started.
      EXPECT_EQ(goro::num_goroutine(), 2u + i);
    }
    EXPECT_EQ(goro::num_goroutine(), 11u);
    release.close();
    wg.wait();
    // The released goroutines may still be on their way out, but none can be added.
    EXPECT_LE(goro::num_goroutine(), 11u);
    EXPECT_GE(goro::num_goroutine(), 1u);
  });
  // run's main has returned; the others finish on their own (checked by the fixture).
}

TEST_F(run_test, GoCopiesFunctionAndArguments) {
  goro::run([] {
    auto out = goro::make_chan<int>(3);
    goro::wait_group wg;
    wg.add(3);
    // Move-only argument: decay-copied into the goroutine.
    goro::go(
        [&wg](goro::chan<int> c, std::unique_ptr<int> p) {
          c.send(*p);
          wg.done();
        },
        out, std::make_unique<int>(7));
    // Arguments are copied at the call, not referenced: later changes are not seen.
    int value = 1;
    goro::go(
        [&wg](goro::chan<int> c, int v) {
          c.send(v);
          wg.done();
        },
        out, value);
    value = 2;
    // A function object with state is copied too.
    struct sender {
      goro::chan<int> c;
      goro::wait_group* wg;
      int v;
      void operator()() {
        c.send(v);
        wg->done();
      }
    } s{out, &wg, 3};
    goro::go(s);  // a named callable: must not parse as a declaration of `s`
    s.v = 4;
    wg.wait();
    std::vector<int> got;
    got.reserve(3);
    for (int i = 0; i < 3; ++i) got.push_back(*out.recv());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<int>{1, 3, 7}));
  });
}

// Go's own stress shape: many goroutines that each do almost nothing. The spawners yield now
// and then so that finished goroutines give their stacks back and memory stays bounded at
// one worker; the 100,000-parked test below covers many goroutines alive at once.
TEST_F(run_test, MillionGoroutinesSpawnedAndFinished) {
  constexpr std::size_t total = scaled(1'000'000, 200'000, 100'000);
  constexpr std::size_t spawners = 4;
  std::atomic<std::size_t> finished{0};
  goro::run([&] {
    goro::wait_group wg;
    wg.add(static_cast<int>(total));
    for (std::size_t s = 0; s < spawners; ++s) {
      goro::go([&] {
        for (std::size_t i = 0; i < total / spawners; ++i) {
          goro::go([&] {
            finished.fetch_add(1, std::memory_order_relaxed);
            wg.done();
          });
          if (i % 256 == 255) goro::yield();
        }
      });
    }
    wg.wait();
  });
  EXPECT_EQ(finished.load(), total);
}

// A goroutine that spawns in a loop without ever blocking does not pile up its goroutines
// unstarted: once its run queue is full it yields to them (memory stays bounded, like Go's
// preemption would keep it).
TEST_F(run_test, SpawnLoopThatNeverBlocksDoesNotPileUp) {
  constexpr std::size_t total = scaled(200'000, 100'000, 20'000);
  std::size_t most_alive = 0;
  goro::run([&] {
    goro::wait_group wg;
    wg.add(static_cast<int>(total));
    for (std::size_t i = 0; i < total; ++i) {
      goro::go([&wg] { wg.done(); });
      most_alive = std::max(most_alive, goro::num_goroutine());
    }
    wg.wait();
  });
  EXPECT_LT(most_alive, 5'000u) << "spawned goroutines piled up unstarted";
}

// Under TSan every goroutine is a TSan fiber: TSan dies beyond 8128 live threads and fibers,
// and a goroutine's first run on a fresh stack costs milliseconds there.
TEST_F(run_test, HundredThousandParkedAtOnceThenReleased) {
  constexpr std::size_t total = scaled(100'000, 20'000, 1'000);
  std::atomic<std::size_t> on_channel{0};
  std::atomic<std::size_t> on_wait_group{0};
  goro::run([&] {
    auto release = goro::make_chan<goro::signal>();
    goro::wait_group gate;  // goroutines wait for it to reach zero: many waiters at once
    gate.add(1);
    goro::wait_group started, finished;
    started.add(static_cast<int>(total));
    finished.add(static_cast<int>(total));
    for (std::size_t i = 0; i < total; ++i) {
      if (i % 2 == 0) {
        goro::go([&, release]() mutable {
          started.done();
          EXPECT_FALSE(release.recv().has_value());
          on_channel.fetch_add(1, std::memory_order_relaxed);
          finished.done();
        });
      } else {
        goro::go([&] {
          started.done();
          gate.wait();
          on_wait_group.fetch_add(1, std::memory_order_relaxed);
          finished.done();
        });
      }
    }
    started.wait();
    // Every goroutine is alive until released: none can get past its blocking call.
    EXPECT_EQ(goro::num_goroutine(), total + 1);
    EXPECT_EQ(on_channel.load() + on_wait_group.load(), 0u);
    release.close();
    gate.done();
    finished.wait();
  });
  EXPECT_EQ(on_channel.load(), (total + 1) / 2);
  EXPECT_EQ(on_wait_group.load(), total / 2);
}

// yield lets the other runnable goroutine run. With one worker the two yielders must take
// turns (a few steps of slack for start-up order); with more workers they may run in
// parallel, and the only promise is that both finish.
TEST_F(run_test, YieldLetsOthersRun) {
  constexpr int iterations = 10000;
  constexpr int max_lead = 2;
  const bool one_worker = goro_test::configured_max_procs() == 1;
  std::atomic<int> a{0}, b{0};
  std::atomic<int> worst_lead{0};
  goro::run([&] {
    goro::wait_group wg;
    wg.add(2);
    auto player = [&](std::atomic<int>& mine, std::atomic<int>& theirs) {
      for (int i = 0; i < iterations; ++i) {
        const int lead = mine.fetch_add(1) + 1 - theirs.load();
        if (lead > worst_lead.load()) worst_lead.store(lead);
        goro::yield();
      }
      wg.done();
    };
    goro::go(player, std::ref(a), std::ref(b));
    goro::go(player, std::ref(b), std::ref(a));
    wg.wait();
  });
  EXPECT_EQ(a.load(), iterations);
  EXPECT_EQ(b.load(), iterations);
  if (one_worker) {
    EXPECT_LE(worst_lead.load(), max_lead) << "with one worker, yield must alternate the two";
  }
}

// A goroutine that never blocks but yields must not starve one that is woken by channels.
TEST_F(run_test, YieldingSpinnerDoesNotStarveChannelUsers) {
  goro::run([] {
    std::atomic<bool> stop{false};
    goro::wait_group wg;
    wg.add(1);
    goro::go([&] {
      while (!stop.load()) goro::yield();
      wg.done();
    });
    auto ping = goro::make_chan<int>();
    auto pong = goro::make_chan<int>();
    goro::go([ping, pong]() mutable {
      for (int v : ping) pong.send(v + 1);
    });
    for (int i = 0; i < 1000; ++i) {
      ping.send(i);
      EXPECT_EQ(*pong.recv(), i + 1);
    }
    ping.close();
    stop = true;
    wg.wait();
  });
}

std::string dump_text() {
  char* buf = nullptr;
  std::size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  goro::dump(f);
  std::fclose(f);
  std::string text(buf, len);
  std::free(buf);
  return text;
}

// goro::dump() shows a parked goroutine with its wait reason, the line it blocked on and where
// it was created, without disturbing anything.
TEST_F(run_test, DumpShowsBlockedGoroutine) {
  goro::run([] {
    auto info = goro::make_chan<std::pair<std::uint64_t, int>>(1);
    auto never = goro::make_chan<int>();
    const int created_line = __LINE__ + 1;
    goro::go([info, never] {
      info.send({goro::goroutine_id(), __LINE__ + 1});
      never.recv();
    });
    const auto [id, blocked_line] = *info.recv();
    const std::string expected = "goroutine " + std::to_string(id) +
                                 " [chan receive]:\n\tblocked at " + __FILE__ + ":" +
                                 std::to_string(blocked_line) + "\n\tcreated by goroutine 1 at " +
                                 __FILE__ + ":" + std::to_string(created_line) + "\n";
    // The goroutine parks soon after sending; poll the dump until it shows that.
    std::string text;
    for (int i = 0; i < 100000 && text.find(expected) == std::string::npos; ++i) {
      goro::yield();
      text = dump_text();
    }
    EXPECT_NE(text.find(expected), std::string::npos) << "dump:\n" << text;
    EXPECT_NE(text.find("goroutine 1 [running]:\n\tcreated by goro::run at "), std::string::npos)
        << "dump:\n"
        << text;
    never.close();
  });
}

// A pair of goroutines ping-ponging over unbuffered channels hands the worker back and forth
// (each wakes the other as its "next" goroutine); other runnable goroutines must still get
// their turn, whether they were queued by go() or woken by a timer. The round-trip cap turns a
// starvation bug into a failure instead of a hang.
TEST_F(run_test, PingPongPairDoesNotStarveOthers) {
  constexpr long max_rounds = static_cast<long>(scaled(1'000'000, 300'000, 100'000));
  for (const bool via_timer : {false, true}) {
    SCOPED_TRACE(via_timer ? "woken by a timer" : "queued by go()");
    std::atomic<bool> other_ran{false};
    long rounds = 0;
    goro::run([&] {
      auto ping = goro::make_chan<int>();
      auto pong = goro::make_chan<int>();
      goro::go([ping, pong] {
        for (int v : ping) pong.send(v);
      });
      goro::go([&other_ran, via_timer] {
        if (via_timer) goro::sleep_for(std::chrono::microseconds(200));
        other_ran = true;
      });
      while (!other_ran.load() && rounds < max_rounds) {
        ping.send(1);
        pong.recv();
        ++rounds;
      }
      ping.close();
    });
    EXPECT_TRUE(other_ran.load()) << "starved for " << rounds << " round trips";
    // Let the other goroutine finish before the next round (and the leak check).
    goro_test::wait_until_quiescent();
  }
}

// go() from plain threads with no run in progress: the runtime starts lazily, and results come
// back to each thread through its own channel.
TEST_F(run_test, GoFromEightPlainThreadsAtOnce) {
  constexpr int threads = 8;
  constexpr int per_thread = static_cast<int>(scaled(1000, 500, 200));
  std::vector<long> sums(threads, 0);
  std::vector<std::thread> pool;
  pool.reserve(threads);
  std::atomic<int> ready{0};
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      EXPECT_EQ(goro::goroutine_id(), 0u);
      auto results = goro::make_chan<int>(t % 2 == 0 ? 0 : 16);
      // Line the threads up so their go() calls really overlap.
      ready.fetch_add(1);
      while (ready.load() < threads) std::this_thread::yield();
      for (int i = 0; i < per_thread; ++i) {
        goro::go([results, t, i]() mutable {
          EXPECT_NE(goro::goroutine_id(), 0u);
          results.send(t * 100000 + i);
        });
      }
      long sum = 0;
      for (int i = 0; i < per_thread; ++i) sum += *results.recv();
      sums[t] = sum;
    });
  }
  for (auto& th : pool) th.join();
  for (int t = 0; t < threads; ++t) {
    const long expected = static_cast<long>(t) * 100000 * per_thread +
                          static_cast<long>(per_thread) * (per_thread - 1) / 2;
    EXPECT_EQ(sums[t], expected) << "thread " << t;
  }
}

// The same while run's main goroutine is waiting for the threads: goroutines spawned from
// outside the runtime are first-class (they can wake run's main).
TEST_F(run_test, GoFromPlainThreadsWhileRunIsInProgress) {
  constexpr int threads = 8;
  constexpr int per_thread = 100;
  goro::run([&] {
    auto results = goro::make_chan<int>();
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([results] {
        for (int i = 0; i < per_thread; ++i) {
          goro::go([results]() mutable { results.send(1); });
        }
      });
    }
    int received = 0;
    for (int i = 0; i < threads * per_thread; ++i) received += *results.recv();
    EXPECT_EQ(received, threads * per_thread);
    for (auto& th : pool) th.join();
  });
}

// Goroutines spawn goroutines spawn goroutines: a binary tree, every node reports once.
TEST_F(run_test, NestedSpawnTree) {
  constexpr int depth = static_cast<int>(scaled(14, 12, 11));
  std::atomic<long> nodes{0};
  goro::run([&] {
    goro::wait_group wg;
    struct node {
      static void grow(int level, goro::wait_group& wg, std::atomic<long>& nodes) {
        nodes.fetch_add(1, std::memory_order_relaxed);
        if (level > 0) {
          wg.add(2);
          goro::go(grow, level - 1, std::ref(wg), std::ref(nodes));
          goro::go(grow, level - 1, std::ref(wg), std::ref(nodes));
        }
        wg.done();
      }
    };
    wg.add(1);
    goro::go(node::grow, depth, std::ref(wg), std::ref(nodes));
    wg.wait();
  });
  EXPECT_EQ(nodes.load(), (1L << (depth + 1)) - 1);
}

// A goroutine woken by a channel operation is queued on the waker's worker without waking an
// idle one (that keeps channel-bound programs on one core). When the waker then computes
// without blocking, another worker must still take the queued goroutine: here the waker spins
// until the woken goroutine has run, which it can only do elsewhere.
TEST_F(run_test, WokenGoroutineQueuedBehindBusyWakerRunsElsewhere) {
  if (goro_test::configured_max_procs() == 1) GTEST_SKIP() << "needs a second worker";
  for (int round = 0; round < 20; round++) {
    goro::run([] {
      std::atomic<bool> first_ran{false};
      auto a = goro::make_chan<int>();
      auto b = goro::make_chan<int>();
      goro::go([a, &first_ran] {
        a.recv();
        first_ran = true;
      });
      goro::go([b] { b.recv(); });
      for (int i = 0; i < 100; i++) goro::yield();  // usually both are parked by now
      a.send(1);                                    // the first goes to this worker's runnext
      b.send(2);                                    // the second displaces it into the queue
      while (!first_ran.load()) {
      }
    });
    ASSERT_TRUE(goro_test::wait_until_quiescent()) << "round " << round;
  }
}

// close() dequeues waiters in batches (releasing the channel's lock in between): with many
// more waiters than one batch, blocked in recv, range-for and select, or in send, every one
// still wakes exactly once and sees the close. At P=1 all are parked before the close.
TEST_F(run_test, CloseWakesWaitersBeyondOneBatch) {
  constexpr int receivers = 500, senders = 300;
  std::atomic<int> saw_close{0}, panicked{0};
  goro::run([&] {
    auto rch = goro::make_chan<int>();
    auto sch = goro::make_chan<int>();
    goro::wait_group ready, done;
    ready.add(receivers + senders);
    done.add(receivers + senders);
    for (int i = 0; i < receivers; ++i) {
      goro::go([&, rch, i] {
        ready.done();
        bool closed = false;
        if (i % 3 == 0) {
          closed = !rch.recv().has_value();
        } else if (i % 3 == 1) {
          closed = true;
          for (int v : rch) closed = v < 0;  // nothing is ever sent
        } else {
          goro::select(goro::on_recv(rch, [&](std::optional<int> v) { closed = !v; }));
        }
        if (closed) saw_close.fetch_add(1);
        done.done();
      });
    }
    for (int i = 0; i < senders; ++i) {
      goro::go([&, sch, i] {
        ready.done();
        try {
          sch.send(i);
        } catch (const goro::panic_error&) {
          panicked.fetch_add(1);
        }
        done.done();
      });
    }
    ready.wait();
    rch.close();
    sch.close();
    done.wait();
  });
  EXPECT_EQ(saw_close.load(), receivers);
  EXPECT_EQ(panicked.load(), senders);
}

// close() fails blocked senders batch by batch, releasing the channel's lock in between. A
// receive that starts once close() has begun (here: once a first sender has seen its panic)
// must get "closed", never the value of a sender that close() has not reached yet, and every
// blocked sender panics (Go: close removes all blocked senders at once).
TEST_F(run_test, NoReceiveFromASenderThatCloseIsFailing) {
  constexpr int senders = 600;
  for (int round = 0; round < 10; round++) {
    std::atomic<int> panicked{0}, received{0};
    goro::run([&] {
      auto ch = goro::make_chan<int>();
      auto first_panic = goro::make_chan<goro::signal>(1);
      goro::wait_group ready, done;
      ready.add(senders);
      done.add(senders + 1);
      for (int i = 0; i < senders; ++i) {
        goro::go([&, ch, first_panic, i] {
          ready.done();
          try {
            ch.send(i);
          } catch (const goro::panic_error&) {
            panicked.fetch_add(1);
            first_panic.try_send(goro::signal{});
          }
          done.done();
        });
      }
      ready.wait();
      goro::go([&, ch, first_panic] {
        first_panic.recv();
        while (ch.recv()) received.fetch_add(1);
        done.done();
      });
      ch.close();
      done.wait();
    });
    ASSERT_EQ(received.load(), 0) << "round " << round;
    ASSERT_EQ(panicked.load(), senders) << "round " << round;
  }
}

// After many goroutines that end in their first run, spawning no longer wakes an idle worker
// (they run faster where they were spawned). A goroutine spawned then, behind a spawner that
// computes without blocking, must still run elsewhere: the spawner spins until it has.
TEST_F(run_test, GoroutineSpawnedAfterQuickOnesRunsBesideABusySpawner) {
  if (goro_test::configured_max_procs() == 1) GTEST_SKIP() << "needs a second worker";
  for (int round = 0; round < 20; round++) {
    goro::run([] {
      goro::wait_group wg;
      constexpr int quick = 1000;
      wg.add(quick);
      for (int i = 0; i < quick; i++) goro::go([&wg] { wg.done(); });
      wg.wait();
      std::atomic<bool> ran{false};
      goro::go([&ran] { ran = true; });
      while (!ran.load()) {
      }
    });
    ASSERT_TRUE(goro_test::wait_until_quiescent()) << "round " << round;
  }
}

// Goroutines that hammer one channel from several workers move next to each other (a
// goroutine that keeps finding the channel's lock held by another worker's goroutine moves to
// that worker, in the middle of its loop). Every value still arrives exactly once, and
// select and plain receives mix freely with the moves.
TEST_F(run_test, GoroutinesSharingABusyChannelMoveWithoutLosingValues) {
  constexpr long per_producer = static_cast<long>(scaled(200'000, 50'000, 20'000));
  constexpr int producers = 4, consumers = 4;
  std::atomic<long> count{0}, sum{0};
  goro::run([&] {
    auto c = goro::make_chan<long>(64);
    auto spare = goro::make_chan<long>();  // never ready: makes half the receives selects
    goro::wait_group sent, received;
    sent.add(producers);
    received.add(consumers);
    for (int p = 0; p < producers; p++) {
      goro::go([&, p] {
        for (long i = 0; i < per_producer; i++) c.send(p * per_producer + i);
        sent.done();
      });
    }
    for (int k = 0; k < consumers; k++) {
      goro::go([&, k] {
        long n = 0, s = 0;
        for (bool open = true; open;) {
          if (k % 2 == 0) {
            std::optional<long> v = c.recv();
            if (!v) break;
            n++;
            s += *v;
          } else {
            goro::select(goro::on_recv(c,
                                       [&](std::optional<long> v) {
                                         if (!v) {
                                           open = false;
                                           return;
                                         }
                                         n++;
                                         s += *v;
                                       }),
                         goro::on_recv(spare, [] {}));
          }
        }
        count += n;
        sum += s;
        received.done();
      });
    }
    sent.wait();
    c.close();
    received.wait();
  });
  const long total = producers * per_producer;
  EXPECT_EQ(count.load(), total);
  EXPECT_EQ(sum.load(), total * (total - 1) / 2);
}

}  // namespace
