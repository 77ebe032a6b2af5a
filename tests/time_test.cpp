// sleep_for/sleep_until, after, ticker and timer.
//
// No test here measures how long something took, except as a lower bound (a sleep or timer
// never ends early) or a generous hang guard: the order of events is established with
// channels, so the assertions hold on a slow or oversubscribed machine.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
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
    chans.reserve(100);
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

// ---- Go 1.23's synchronous timer channels -------------------------------------------------

// The value of a fire nobody received still counts as not received: stop() and reset()
// return true, so the Go idiom `if (!t.Stop()) <-t.C` never blocks. (Whether the timer has
// fired when stop() runs does not change the answer, so the test holds on a slow machine.)
TEST_F(timer_test, StopAfterUnreceivedFireReturnsTrue) {
  goro::run([] {
    for (int i = 0; i < 20; ++i) {
      goro::timer t(std::chrono::microseconds(10 * (i % 3)));
      wait_past(1ms);  // certainly fired, and nobody received
      EXPECT_TRUE(t.stop()) << "round " << i;
      EXPECT_FALSE(t.stop()) << "second stop, round " << i;
      clock_type::time_point stale;
      EXPECT_EQ(t.c().try_recv(stale), goro::status::not_ready) << "round " << i;
    }
  });
}

TEST_F(timer_test, ResetAfterUnreceivedFireReturnsTrueAndDeliversOnlyTheNewValue) {
  goro::run([] {
    goro::timer t(10us);
    wait_past(10us);
    const auto rearmed = clock_type::now();
    EXPECT_TRUE(t.reset(1ms));
    auto v = t.c().recv();
    ASSERT_TRUE(v.has_value());
    EXPECT_GE(*v, rearmed + 1ms) << "the value received is the new arming's, not the stale one";
  });
}

// The idiom from Go's documentation, by many goroutines at once: each stop() either stops the
// timer (true) or leaves a value to receive (false); never false with nothing to receive.
TEST_F(timer_test, StopThenDrainIdiomNeverBlocks) {
  const int n = static_cast<int>(scaled(1000, 300, 100));
  std::atomic<int> stopped{0};
  goro::run([&] {
    goro::wait_group wg;
    wg.add(n);
    for (int i = 0; i < n; ++i) {
      goro::go([&wg, &stopped, i] {
        goro::timer t(std::chrono::microseconds(i % 50));
        goro::sleep_for(std::chrono::microseconds(i % 100));
        if (!t.stop())
          t.c().recv();
        else
          stopped.fetch_add(1, std::memory_order_relaxed);
        wg.done();
      });
    }
    wg.wait();
  });
  // Nobody received before stop(): every stop() stopped something.
  EXPECT_EQ(stopped.load(), n);
}

// Go's TestStopResult and TestResetResult: two timers due together; whichever is received
// first, stopping or resetting the other either succeeds or leaves its value to receive.
void stop_reset_race(bool use_stop) {
  const int goroutines = static_cast<int>(scaled(1000, 200, 50));
  constexpr int rounds = static_cast<int>(scaled(100, 20, 10));
  goro::run([&] {
    auto start = goro::make_chan<goro::signal>();
    goro::wait_group wg;
    wg.add(goroutines);
    for (int g = 0; g < goroutines; ++g) {
      goro::go([&wg, start, use_stop] {
        start.recv();
        auto stop_or_reset = [use_stop](goro::timer& t) {
          return use_stop ? t.stop() : t.reset(1h);
        };
        for (int j = 0; j < rounds; ++j) {
          goro::timer t1(1ms), t2(1ms);
          goro::select(goro::on_recv(t1.c(),
                                     [&] {
                                       if (!stop_or_reset(t2)) t2.c().recv();
                                     }),
                       goro::on_recv(t2.c(), [&] {
                         if (!stop_or_reset(t1)) t1.c().recv();
                       }));
        }
        wg.done();
      });
    }
    start.close();
    wg.wait();
  });
}
TEST_F(timer_test, StopResultIsConsistentWhenRacingTheFire) { stop_reset_race(true); }
TEST_F(timer_test, ResetResultIsConsistentWhenRacingTheFire) { stop_reset_race(false); }

// Timer channels present themselves as unbuffered: len and cap are 0, even with a value
// waiting to be received.
TEST_F(timer_test, TimerChannelsReportSizeAndCapacityZero) {
  goro::run([] {
    auto a = goro::after(0ns);
    goro::timer t(0ns);
    goro::ticker k(100us);
    wait_past(1ms);  // all three have a value waiting
    for (const goro::recv_chan<clock_type::time_point>* c :
         {static_cast<const goro::recv_chan<clock_type::time_point>*>(&a), &t.c(), &k.c()}) {
      EXPECT_EQ(c->size(), 0u);
      EXPECT_EQ(c->capacity(), 0u);
    }
    EXPECT_TRUE(a.recv().has_value());
    EXPECT_TRUE(t.c().recv().has_value());
    EXPECT_TRUE(k.c().recv().has_value());
  });
}

// A timer nothing refers to any more is removed at once, never fired: the select loop with an
// after(1h) case leaves no timer behind, however many times it runs.
TEST_F(timer_test, UnreferencedAfterIsRemovedAtOnce) {
  goro::run([] {
    const std::size_t before = goro::debug::pending_timers();
    {
      auto c = goro::after(1h);
      EXPECT_EQ(goro::debug::pending_timers(), before + 1);
    }
    EXPECT_EQ(goro::debug::pending_timers(), before);

    auto ch = goro::make_chan<int>(1);
    const int rounds = static_cast<int>(scaled(100000, 20000, 5000));
    long sum = 0;
    std::size_t most = 0;
    for (int i = 0; i < rounds; ++i) {
      ch.send(i);
      goro::select(goro::on_recv(ch, [&](std::optional<int> v) { sum += *v; }),
                   goro::on_recv(goro::after(1h), [] { ADD_FAILURE() << "an hour passed"; }));
      most = std::max(most, goro::debug::pending_timers());
    }
    EXPECT_EQ(sum, static_cast<long>(rounds) * (rounds - 1) / 2);
    EXPECT_LE(most, before + 1) << "after(1h) timers piled up";
    EXPECT_EQ(goro::debug::pending_timers(), before);
  });
}

TEST_F(timer_test, DestroyedTimerAndTickerLeaveNoTimer) {
  goro::run([] {
    const std::size_t before = goro::debug::pending_timers();
    goro::recv_chan<clock_type::time_point> kept;
    {
      goro::timer t(1h);
      goro::ticker k(1h);
      kept = t.c();  // a handle that outlives the timer does not keep it running
      EXPECT_EQ(goro::debug::pending_timers(), before + 2);
    }
    EXPECT_EQ(goro::debug::pending_timers(), before);
    clock_type::time_point v;
    EXPECT_EQ(kept.try_recv(v), goro::status::not_ready);
  });
}

TEST_F(timer_test, MovedTimerAndTickerKeepWorking) {
  goro::run([] {
    goro::timer t(1ms);
    goro::timer t2(std::move(t));
    EXPECT_TRUE(t2.c().recv().has_value());
    goro::ticker k(200us);
    goro::ticker k2(1h);
    k2 = std::move(k);  // the 1h ticker is stopped; k2 now ticks every 200 us
    EXPECT_TRUE(k2.c().recv().has_value());
    EXPECT_TRUE(k2.c().recv().has_value());
  });
}

// ---- Durations at the edges ----------------------------------------------------------------

// Too long to represent means never (Go's TestOverflowSleep): now + d must not wrap around
// into the past. Such timers wait in no heap.
TEST_F(timer_test, HugeDurationsNeverFire) {
  goro::run([] {
    const std::size_t before = goro::debug::pending_timers();
    for (auto d : {std::chrono::nanoseconds::max(), std::chrono::nanoseconds::max() - 1ns,
                   std::chrono::nanoseconds(std::chrono::hours(24 * 365 * 200))}) {
      auto a = goro::after(d);
      goro::timer t(d);
      goro::ticker k(d);
      bool fired = false;
      for (int i = 0; i < 3; ++i) {
        goro::select(
            goro::on_recv(a, [&] { fired = true; }), goro::on_recv(t.c(), [&] { fired = true; }),
            goro::on_recv(k.c(), [&] { fired = true; }), goro::on_recv(goro::after(5ms), [] {}));
      }
      EXPECT_FALSE(fired) << d.count();
      EXPECT_TRUE(t.stop()) << "a timer that never fires is still armed";
      EXPECT_FALSE(t.reset(d)) << "stopped just now";
      EXPECT_TRUE(t.reset(1ms)) << "armed again by the reset before";
      EXPECT_TRUE(t.c().recv().has_value());
      k.reset(d);
    }
    EXPECT_EQ(goro::debug::pending_timers(), before);
  });
}

TEST_F(timer_test, ZeroAndNegativeDurationsFireAtOnce) {
  goro::run([] {
    for (std::chrono::nanoseconds d :
         {0ns, -1ns, std::chrono::nanoseconds(-1h), std::chrono::nanoseconds::min()}) {
      EXPECT_TRUE(goro::after(d).recv().has_value()) << d.count();
      goro::timer t(d);
      EXPECT_TRUE(t.c().recv().has_value()) << d.count();
      EXPECT_FALSE(t.reset(d)) << "received: nothing was pending";
      EXPECT_TRUE(t.c().recv().has_value()) << d.count();
      EXPECT_THROW(goro::ticker tk(d), std::invalid_argument);
      goro::sleep_for(d);
    }
    goro::sleep_until(clock_type::time_point::min());
  });
}

}  // namespace
