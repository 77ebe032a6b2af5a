// goro/time.hpp: Go's time.After, time.Ticker and time.Timer on the runtime's timers.
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

#include "goro/chan.hpp"

namespace goro {

using time_point = std::chrono::steady_clock::time_point;

namespace detail {
struct timer_state;

// What ticker and timer share: the timer's channel (which owns the timer) and its state.
class timer_owner {
 public:
  // The channel the values arrive on; valid while the owner lives. Not on a temporary, which
  // stops at the end of the statement (after() serves one-expression uses).
  const recv_chan<time_point>& c() const& noexcept { return c_; }
  const recv_chan<time_point>& c() const&& = delete;

 protected:
  timer_owner(std::chrono::nanoseconds first, std::int64_t period_ns);  // period 0: once
  timer_owner(timer_owner&& o) noexcept;
  timer_owner& operator=(timer_owner&& o) noexcept;  // stops the timer it replaces
  ~timer_owner();                                    // stops the timer
  bool stop_timer() noexcept;                        // what timer::stop() returns
  bool rearm(std::chrono::nanoseconds first, std::int64_t period_ns);

 private:
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
};

namespace debug {
// Timers waiting in the runtime's heaps now: sleeps, and after/timer/ticker values not yet
// delivered (a timer that can never fire is in no heap). For leak checks in tests.
std::size_t pending_timers() noexcept;
}  // namespace debug

}  // namespace goro
