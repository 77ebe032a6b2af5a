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

#include "goro/chan.hpp"

namespace goro {

using time_point = std::chrono::steady_clock::time_point;

namespace detail {
struct timer_state;
}  // namespace detail

// Go's time.After: a channel that receives the time once, after d. While a handle to it exists
// and the value is not delivered, a goroutine blocked on it is not a deadlock; once no handle
// is left, the timer is removed.
recv_chan<time_point> after(std::chrono::nanoseconds d);

// Go's time.Ticker: delivers the time every period; a slow receiver misses ticks (at most one
// waits to be received). stop() ends the deliveries, reset() changes the period; neither lets
// a tick from before it be received after it. The destructor stops it. Movable, not copyable;
// a moved-from ticker may only be destroyed or assigned to.
class ticker {
 public:
  explicit ticker(std::chrono::nanoseconds period);  // period must be > 0 (else throws)
  ticker(ticker&& o) noexcept;
  ticker& operator=(ticker&& o) noexcept;
  ~ticker();

  // The channel ticks arrive on; valid while the ticker lives. Not on a temporary ticker,
  // which would stop at the end of the statement (after() serves one-expression uses).
  const recv_chan<time_point>& c() const& noexcept { return c_; }
  const recv_chan<time_point>& c() const&& = delete;
  void stop() noexcept;
  void reset(std::chrono::nanoseconds period);  // period must be > 0 (else throws)

 private:
  recv_chan<time_point> c_;
  detail::timer_state* s_ = nullptr;  // owned through c_ (the channel keeps it alive)
};

// Go's time.Timer: delivers the time once after d. stop() returns true if it stopped the
// timer before its value was received (see above); reset(d) rearms it and returns what stop()
// would have. The destructor stops it. Movable, not copyable, like ticker.
class timer {
 public:
  explicit timer(std::chrono::nanoseconds d);
  timer(timer&& o) noexcept;
  timer& operator=(timer&& o) noexcept;
  ~timer();

  // The channel the value arrives on; valid while the timer lives (not on a temporary).
  const recv_chan<time_point>& c() const& noexcept { return c_; }
  const recv_chan<time_point>& c() const&& = delete;
  bool stop() noexcept;
  bool reset(std::chrono::nanoseconds d);

 private:
  recv_chan<time_point> c_;
  detail::timer_state* s_ = nullptr;
};

namespace debug {
// Timers waiting in the runtime's heaps now: sleeps, and after/timer/ticker values not yet
// delivered (a timer that can never fire is in no heap). For leak checks in tests.
std::size_t pending_timers() noexcept;
}  // namespace debug

}  // namespace goro
