// sleep_for/sleep_until, after, ticker and timer.
//
// No test here measures how long something took, except as a lower bound (a sleep or timer
// never ends early) or a generous hang guard: the order of events is established with
// channels, so the assertions hold on a slow or oversubscribed machine.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "test_util.hpp"

namespace {

using namespace std::chrono_literals;
using goro_test::runtime_test;
using goro_test::scaled;
using clock_type = std::chrono::steady_clock;

using sleep_test = runtime_test;
using timer_test = runtime_test;

TEST_F(sleep_test, ShortAndZeroSleepsBothWake) {
  goro::run([] {
    auto woke = goro::make_chan<int>();
    goro::go([woke]() mutable {
      goro::sleep_for(1ms);
      woke.send(1);
    });
    goro::go([woke]() mutable {
      goro::sleep_for(0ms);
      woke.send(0);
    });
    goro::go([woke]() mutable {
      goro::sleep_for(-5ms);  // negative: returns at once, like Go's time.Sleep
      woke.send(-1);
    });
    int sum = 0;
    for (int i = 0; i < 3; ++i) sum += *woke.recv();
    EXPECT_EQ(sum, 0);
  });
}

TEST_F(sleep_test, NeverEndsEarly) {
  goro::run([] {
    for (auto d : {1ms, 3ms}) {
      const auto start = clock_type::now();
      goro::sleep_for(d);
      EXPECT_GE(clock_type::now() - start, d);
    }
    const auto target = clock_type::now() + 2ms;
    goro::sleep_until(target);
    EXPECT_GE(clock_type::now(), target);
  });
}

TEST_F(sleep_test, SleepUntilPastTimeReturns) {
  goro::run([] {
    goro::sleep_until(clock_type::now() - 1s);
    goro::sleep_until(clock_type::time_point{});
    goro::sleep_until(clock_type::now());
  });
  // On a plain thread too.
  goro::sleep_until(clock_type::now() - 1s);
}

TEST_F(sleep_test, PlainThreadSleeps) {
  const auto start = clock_type::now();
  goro::sleep_for(2ms);
  EXPECT_GE(clock_type::now() - start, 2ms);
}

// Sleeping goroutines do not hold their workers: ten thousand 50 ms sleeps overlap. The time
// bound is only a hang guard (sequential sleeps would take 500 s); how fast it really is
// belongs to the benchmarks.
TEST_F(sleep_test, TenThousandSleepersAllWake) {
  constexpr int sleepers = static_cast<int>(scaled(10000, 5000, 2000));
  std::atomic<int> woke{0};
  const auto start = clock_type::now();
  goro::run([&] {
    goro::wait_group wg;
    wg.add(sleepers);
    for (int i = 0; i < sleepers; ++i) {
      goro::go([&] {
        goro::sleep_for(50ms);
        woke.fetch_add(1, std::memory_order_relaxed);
        wg.done();
      });
    }
    wg.wait();
  });
  EXPECT_EQ(woke.load(), sleepers);
  EXPECT_LT(clock_type::now() - start, 10s) << "sleeps did not overlap";
}

// Sleeps that start in deadline order skip the timer heap (a FIFO next to it takes them);
// one that ends before an earlier-started one goes to the heap. Mixed, on every worker: each
// sleeper still wakes, never early, and timer channels (deletable timers, always in the heap)
// fire among them.
TEST_F(sleep_test, SleepsOutOfDeadlineOrderMixWithInOrderOnes) {
  constexpr int per_group = 40;
  std::atomic<int> woke{0}, early{0};
  goro::run([&] {
    goro::wait_group wg;
    auto sleeper = [&](std::chrono::microseconds d) {
      wg.add(1);
      goro::go([&, d] {
        const auto start = clock_type::now();
        goro::sleep_for(d);
        if (clock_type::now() - start < d) early.fetch_add(1);
        woke.fetch_add(1);
        wg.done();
      });
    };
    for (int i = 0; i < per_group; ++i) {
      sleeper(std::chrono::microseconds(4000 - 100 * i));  // each shorter: out of order
      sleeper(std::chrono::microseconds(500 + 100 * i));   // each longer: in order
      if (i % 10 == 0) {
        wg.add(1);
        goro::go([&wg, i] {
          goro::after(std::chrono::microseconds(50 * i)).recv();
          wg.done();
        });
      }
    }
    wg.wait();
  });
  EXPECT_EQ(woke.load(), 2 * per_group);
  EXPECT_EQ(early.load(), 0);
}

TEST_F(sleep_test, SleepersInterleavedWithChannelTraffic) {
  goro::run([] {
    auto ch = goro::make_chan<int>();
    goro::wait_group wg;
    for (int i = 0; i < 20; ++i) {
      wg.add(1);
      goro::go([&wg, ch, i]() mutable {
        goro::sleep_for(std::chrono::microseconds(100 * (i % 5)));
        ch.send(i);
        goro::sleep_for(std::chrono::microseconds(50));
        wg.done();
      });
    }
    int sum = 0;
    for (int i = 0; i < 20; ++i) sum += *ch.recv();
    EXPECT_EQ(sum, 190);
    wg.wait();
  });
}

// Waits until a timer started now with duration `d` has certainly fired, using another timer
// rather than a sleep: anything a timer of duration <= d would deliver is visible afterwards.
void wait_past(std::chrono::nanoseconds d) { goro::after(d + 5ms).recv(); }

TEST_F(timer_test, AfterDeliversOneValue) {
  goro::run([] {
    const auto start = clock_type::now();
    auto c = goro::after(1ms);
    auto v = c.recv();
    ASSERT_TRUE(v.has_value());
    EXPECT_GE(*v, start + 1ms) << "the value is the time the timer fired";
    wait_past(1ms);
    clock_type::time_point stale;
    EXPECT_EQ(c.try_recv(stale), goro::status::not_ready) << "after() delivers exactly one value";
  });
}

TEST_F(timer_test, AfterOnPlainThread) {
  const auto start = clock_type::now();
  auto v = goro::after(1ms).recv();
  ASSERT_TRUE(v.has_value());
  EXPECT_GE(*v, start + 1ms);
}

TEST_F(timer_test, AfterAsSelectTimeout) {
  goro::run([] {
    auto never = goro::make_chan<int>();
    bool timed_out = false;
    const std::size_t chosen =
        goro::select(goro::on_recv(never, [](std::optional<int>) { ADD_FAILURE(); }),
                     goro::on_recv(goro::after(1ms), [&] { timed_out = true; }));
    EXPECT_EQ(chosen, 1u);
    EXPECT_TRUE(timed_out);
  });
}

TEST_F(timer_test, ManyAftersAllFire) {
  goro::run([] {
    std::vector<goro::recv_chan<clock_type::time_point>> chans;
    for (int i = 0; i < 100; ++i) chans.push_back(goro::after(std::chrono::microseconds(37 * i)));
    for (auto& c : chans) ASSERT_TRUE(c.recv().has_value());
  });
}

TEST_F(timer_test, TickerDeliversRepeatedlyAndStopStops) {
  goro::run([] {
    const auto start = clock_type::now();
    goro::ticker t(1ms);
    auto c = t.c();
    clock_type::time_point previous = start;
    for (int i = 0; i < 5; ++i) {
      auto v = c.recv();
      ASSERT_TRUE(v.has_value());
      EXPECT_GE(*v, previous);
      previous = *v;
    }
    EXPECT_GE(previous, start + 1ms);
    t.stop();
    wait_past(3ms);  // three periods: a running ticker would have ticked by now
    clock_type::time_point stale;
    EXPECT_EQ(c.try_recv(stale), goro::status::not_ready) << "tick delivered after stop()";
  });
}

TEST_F(timer_test, TickerOnPlainThread) {
  goro::ticker t(500us);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(t.c().recv().has_value());
  t.stop();
}

TEST_F(timer_test, StopBeforeFireReturnsTrueAndNothingIsDelivered) {
  goro::run([] {
    goro::timer t(1h);
    EXPECT_TRUE(t.stop());
    EXPECT_FALSE(t.stop()) << "already stopped";
    wait_past(1ms);
    clock_type::time_point stale;
    EXPECT_EQ(t.c().try_recv(stale), goro::status::not_ready);
  });
}

TEST_F(timer_test, StopAfterReceivingReturnsFalse) {
  goro::run([] {
    goro::timer t(1ms);
    ASSERT_TRUE(t.c().recv().has_value());
    EXPECT_FALSE(t.stop());
  });
}

// Go 1.23 timers: a stopped timer's channel never yields a value from before the stop, even if
// the timer expired before stop() was called and nobody had received yet.
TEST_F(timer_test, NoStaleValueAfterStopOfExpiredTimer) {
  goro::run([] {
    for (int i = 0; i < 20; ++i) {
      goro::timer t(std::chrono::microseconds(100 * (i % 3)));
      if (i % 2 == 0) wait_past(1ms);  // certainly expired, value not received
      t.stop();
      wait_past(1ms);
      clock_type::time_point stale;
      ASSERT_EQ(t.c().try_recv(stale), goro::status::not_ready) << "stale value, round " << i;
    }
  });
}

TEST_F(timer_test, ResetAfterStopDeliversExactlyOneValue) {
  goro::run([] {
    goro::timer t(1h);
    ASSERT_TRUE(t.stop());
    const auto start = clock_type::now();
    EXPECT_FALSE(t.reset(1ms)) << "reset of a stopped timer reports it was not active";
    auto v = t.c().recv();
    ASSERT_TRUE(v.has_value());
    EXPECT_GE(*v, start + 1ms);
    wait_past(1ms);
    clock_type::time_point stale;
    EXPECT_EQ(t.c().try_recv(stale), goro::status::not_ready) << "second value after one reset";
  });
}

TEST_F(timer_test, ResetOfActiveTimerReplacesIt) {
  goro::run([] {
    goro::timer t(1h);
    EXPECT_TRUE(t.reset(1ms)) << "the timer was active";
    ASSERT_TRUE(t.c().recv().has_value());
    wait_past(1ms);
    clock_type::time_point stale;
    EXPECT_EQ(t.c().try_recv(stale), goro::status::not_ready);
    // Reset after it fired and was received: fires again, once.
    EXPECT_FALSE(t.reset(1ms));
    ASSERT_TRUE(t.c().recv().has_value());
  });
}

// A plain thread may receive from a timer made by a goroutine, and report back through a
// channel the goroutine waits on.
TEST_F(timer_test, TimerSharedByThreadAndGoroutine) {
  goro::run([] {
    goro::timer t(1ms);
    auto got = goro::make_chan<bool>(1);
    std::thread th([&t, got]() mutable { got.send(t.c().recv().has_value()); });
    EXPECT_TRUE(*got.recv());
    th.join();
  });
}

}  // namespace
