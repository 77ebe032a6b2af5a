// goro/time.hpp: Go's time.After, time.Tick, time.AfterFunc, time.Ticker and time.Timer on the
// runtime's timers.
//
// Timer channels behave as in Go 1.23 and later (synchronous timer channels):
//  - after stop() or reset() returns, no value from before the call is ever received;
//  - stop() and reset() return true whenever the value of the current arming has not been
//    received yet, even if the deadline has passed: `if (!t.stop()) t.c().recv();` never
//    blocks;
//  - size() and capacity() of a timer's channel are always 0, as for an unbuffered channel;
//  - a timer nothing refers to any more is removed at once: when the last handle to an
//    after() channel goes, so does its timer (a select loop with an after(1h) case costs
//    nothing per iteration and does not keep the deadlock detector quiet).
// Durations saturate: one too long to represent (nanoseconds::max(), say) means "never", and
// a negative or zero one means "now".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "goro/chan.hpp"
#include "goro/source_location.hpp"

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro {

using time_point = std::chrono::steady_clock::time_point;

namespace detail {
struct timer_state;
struct func_tag {};  // selects after_func's timer constructor

// What ticker and timer share: the timer's channel (which owns the timer) and its state.
class timer_owner {
 public:
  // The channel the values arrive on; valid while the owner lives. Not on a temporary, which
  // stops at the end of the statement (after() serves one-expression uses).
  const recv_chan<time_point>& c() const& noexcept { return c_; }
  const recv_chan<time_point>& c() const&& = delete;

 protected:
  timer_owner(std::chrono::nanoseconds first, std::int64_t period_ns);  // period 0: once
  // after_func: no channel; each fire runs call(func.get()) in a new goroutine.
  timer_owner(std::chrono::nanoseconds first, std::shared_ptr<void> func, void (*call)(void*),
              const goro::source_location& where);
  timer_owner(timer_owner&& o) noexcept;
  timer_owner& operator=(timer_owner&& o) noexcept;  // drops the timer it replaces (drop())
  ~timer_owner();                                    // drop()
  bool stop_timer() noexcept;                        // what timer::stop() returns
  bool rearm(std::chrono::nanoseconds first, std::int64_t period_ns);

 private:
  void drop() noexcept;  // stops the timer; an after_func's is left armed (Go keeps it)

  recv_chan<time_point> c_;
  timer_state* s_ = nullptr;  // owned through c_ (the channel keeps it alive)
};
}  // namespace detail

// Go's time.After: a channel that receives the time once, after d. While a handle to it exists
// and the value is not delivered, a goroutine blocked on it is not a deadlock; once no handle
// is left, the timer is removed.
recv_chan<time_point> after(std::chrono::nanoseconds d);

// Go's time.Ticker: delivers the time every period; a slow receiver misses ticks (at most one
// waits to be received). stop() ends the deliveries, reset() changes the period; neither lets
// a tick from before it be received after it. The destructor stops it. Movable, not copyable;
// a moved-from ticker may only be destroyed or assigned to. c() is the channel (see above).
class ticker : public detail::timer_owner {
 public:
  explicit ticker(std::chrono::nanoseconds period);  // period must be > 0 (else throws)
  void stop() noexcept { stop_timer(); }
  void reset(std::chrono::nanoseconds period);  // period must be > 0 (else throws)
};

// Go's time.Timer: delivers the time once after d. stop() returns true if it stopped the
// timer before its value was received (see above); reset(d) rearms it and returns what stop()
// would have. The destructor stops it. Movable, not copyable, like ticker.
class timer : public detail::timer_owner {
 public:
  explicit timer(std::chrono::nanoseconds d);
  bool stop() noexcept { return stop_timer(); }
  bool reset(std::chrono::nanoseconds d);

  // after_func()'s timer (detail::func_tag: not API).
  timer(detail::func_tag, std::chrono::nanoseconds d, std::shared_ptr<void> func,
        void (*call)(void*), const goro::source_location& where);
};

// Go's time.AfterFunc: after d, f() runs in a goroutine of its own. The timer's stop() before
// that prevents it (true: stopped in time; false: f has started, or the timer was stopped
// already); reset(d) schedules f again, d from now (true if it was still pending, as Go's).
// f may run again after a reset even while a previous run has not returned. c() is nil.
// Unlike the other timers, destroying the returned object does not stop it, as Go's runtime
// keeps an AfterFunc timer until it fires: `goro::after_func(1s, f);` alone runs f in a
// second. While pending it keeps the deadlock detector quiet, as any timer does.
template <class F>
timer after_func(std::chrono::nanoseconds d, F f,
                 goro::source_location where = goro::source_location::current()) {
  return timer(
      detail::func_tag{}, d, std::make_shared<F>(std::move(f)),
      [](void* fp) { std::invoke(*static_cast<F*>(fp)); }, where);
}

// Go's time.Tick: a channel that receives the time every d, for as long as a handle to it
// exists (then its ticker is removed, as in Go 1.23); nil for d <= 0, as Go's. A slow receiver
// misses ticks, as with ticker.
recv_chan<time_point> tick(std::chrono::nanoseconds d);

namespace debug {
// Timers waiting in the runtime's heaps now: sleeps, and after/timer/ticker values not yet
// delivered (a timer that can never fire is in no heap). For leak checks in tests.
std::size_t pending_timers() noexcept;
}  // namespace debug

}  // namespace goro
#pragma GCC visibility pop
