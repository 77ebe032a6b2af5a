// goro/time.hpp's after_func and tick (Go's time.AfterFunc and time.Tick), from goroutines and
// plain threads.
#include <atomic>
#include <chrono>

#include "test_util.hpp"

namespace {

using namespace std::chrono_literals;
using goro_test::runtime_test;

using after_func_test = runtime_test;
using tick_test = runtime_test;

// f runs in a goroutine of its own, after d (not before), and the timer's channel is nil.
TEST_F(after_func_test, RunsInItsOwnGoroutineAfterTheDelay) {
  goro::run([] {
    auto ran = goro::make_chan<std::uint64_t>(1);
    const auto start = std::chrono::steady_clock::now();
    goro::timer t = goro::after_func(5ms, [ran] { ran.send(goro::goroutine_id()); });
    EXPECT_FALSE(t.c()) << "an after_func timer has no channel";
    const std::uint64_t id = *ran.recv();
    EXPECT_GE(std::chrono::steady_clock::now() - start, 5ms);
    EXPECT_NE(id, goro::goroutine_id());
    EXPECT_NE(id, 0u);
    EXPECT_FALSE(t.stop()) << "stop() after f started";
  });
}

// stop() before it fires prevents f: f would close `ran`, and the channel stays open; the
// runtime has no timer left, so nothing more can happen.
TEST_F(after_func_test, StopBeforeItFiresPreventsIt) {
  goro::run([] {
    auto ran = goro::make_chan<goro::signal>();
    goro::timer t = goro::after_func(1h, [ran] { ran.close(); });
    EXPECT_EQ(goro::debug::pending_timers(), 1u);
    EXPECT_TRUE(t.stop());
    EXPECT_FALSE(t.stop()) << "a second stop() has nothing to stop";
    EXPECT_EQ(goro::debug::pending_timers(), 0u);
    goro::signal s;
    EXPECT_EQ(ran.try_recv(s), goro::status::not_ready);
  });
}

// reset() reschedules a pending f (true) or schedules it again after it ran (false).
TEST_F(after_func_test, ResetReschedules) {
  goro::run([] {
    auto ran = goro::make_chan<int>(2);
    std::atomic<int> runs{0};
    goro::timer t = goro::after_func(1h, [ran, &runs] { ran.send(runs.fetch_add(1) + 1); });
    EXPECT_TRUE(t.reset(1ms)) << "pending: rescheduled";
    EXPECT_EQ(ran.recv(), 1);
    EXPECT_FALSE(t.reset(1ms)) << "ran already: scheduled again";
    EXPECT_EQ(ran.recv(), 2);
  });
}

// Dropping the timer object does not stop it (Go's runtime keeps AfterFunc timers).
TEST_F(after_func_test, DestroyingTheTimerDoesNotStopIt) {
  goro::run([] {
    auto ran = goro::make_chan<goro::signal>();
    goro::after_func(1ms, [ran] { ran.close(); });
    ran.recv();
    // Moved-to and replaced: the replaced one still fires.
    auto ran2 = goro::make_chan<goro::signal>();
    goro::timer t = goro::after_func(1ms, [ran2] { ran2.close(); });
    t = goro::after_func(1h, [] {});
    ran2.recv();
    EXPECT_TRUE(t.stop());
  });
}

// Made on a plain thread, f still runs in a goroutine; move-only callables are fine.
TEST_F(after_func_test, FromAPlainThreadWithAMoveOnlyCallable) {
  auto ran = goro::make_chan<int>(1);
  auto p = std::make_unique<int>(7);
  goro::timer t = goro::after_func(1ms, [ran, p = std::move(p)] {
    EXPECT_NE(goro::goroutine_id(), 0u);
    ran.send(*p);
  });
  EXPECT_EQ(ran.recv(), 7);
}

// tick(d): a value every d, for whoever holds the channel; the ticker goes with the last
// handle. tick of a non-positive duration is nil.
TEST_F(tick_test, TicksAndGoesWithItsChannel) {
  goro::run([] {
    {
      const auto start = std::chrono::steady_clock::now();
      auto c = goro::tick(1ms);
      const auto first = *c.recv();
      const auto second = *c.recv();
      EXPECT_GE(first - start, 1ms) << "a tick is never early";
      EXPECT_GE(second - start, 2ms);
    }
    EXPECT_EQ(goro::debug::pending_timers(), 0u) << "the ticker went with its last handle";
    EXPECT_FALSE(goro::tick(0ns));
    EXPECT_FALSE(goro::tick(-1s));
    // In a select loop, Go's canonical use.
    auto ticks = goro::tick(1ms);
    auto done = goro::make_chan<goro::signal>();
    goro::go([done] {
      goro::sleep_for(5ms);
      done.close();
    });
    int n = 0;
    for (bool more = true; more;) {
      goro::select(goro::on_recv(ticks, [&] { n++; }), goro::on_recv(done, [&] { more = false; }));
    }
    EXPECT_GE(n, 1);
  });
}

}  // namespace
