// goro/time.hpp: Go's time.After, time.Ticker and time.Timer on the runtime's timers.
//
// Timer channels behave like Go 1.23+: after stop() or reset() returns, no value from before
// the call is ever received.
#pragma once

#include <chrono>
#include <memory>

#include "goro/chan.hpp"

namespace goro {

using time_point = std::chrono::steady_clock::time_point;

namespace detail {
struct timer_state;
struct timer_state_deleter {
  void operator()(timer_state* s) const noexcept;
};
using timer_ptr = std::unique_ptr<timer_state, timer_state_deleter>;
}  // namespace detail

// Go's time.After: a channel that receives the current time once, after d. A goroutine blocked
// on it is not a deadlock while the timer is pending.
recv_chan<time_point> after(std::chrono::nanoseconds d);

// Go's time.Ticker: delivers the time every period; a slow receiver misses ticks (the channel
// holds one). stop() ends the deliveries; the destructor stops it.
class ticker {
 public:
  explicit ticker(std::chrono::nanoseconds period);  // period must be > 0 (else throws)
  recv_chan<time_point> c() const;
  void stop() noexcept;
  void reset(std::chrono::nanoseconds period);

 private:
  detail::timer_ptr s_;
};

// Go's time.Timer: delivers the time once after d. stop() returns true if it stopped the timer
// before its value was received; reset(d) rearms it (returns what stop() would have), and no
// stale value is delivered after either. The destructor stops it.
class timer {
 public:
  explicit timer(std::chrono::nanoseconds d);
  recv_chan<time_point> c() const;
  bool stop() noexcept;
  bool reset(std::chrono::nanoseconds d);

 private:
  detail::timer_ptr s_;
};

}  // namespace goro
