// src/time/timers.hpp: the runtime's timer heap (used by sleep, after, ticker, timer).
//
// One process-wide 4-ary min-heap under a spinlock. Entries keep their deadline inline, and
// due timers are taken 64 per lock hold. Idle workers sleep until the earliest deadline; busy
// workers check it between goroutines (see sched.cpp). Not per-worker heaps (DESIGN.md's
// suggestion) yet: with the above the timers benchmark is at 0.7-1.1x Go's wall time; the
// rest of its cost is first-touch page faults of fresh stacks and lock traffic between two
// workers.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>

namespace goro::detail {

std::int64_t now_ns() noexcept;  // steady_clock, in ns
inline constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

struct rtimer {
  std::int64_t when = 0;
  // Runs on a worker's scheduler stack (never in a goroutine) with no lock held, after the
  // timer left the heap. The timer code never touches the rtimer after calling fire, so fire
  // may free it or re-add it.
  void (*fire)(rtimer* t, std::int64_t now) = nullptr;
  std::int32_t index = -1;  // position in the heap, -1 when not in it; guarded by the heap lock
  // Set when the timer leaves the heap to fire; a fire function that cares (timer channels)
  // clears it when done, so stop()/reset() can wait out a fire already in flight.
  std::atomic<bool> firing{false};
};

// Adds t (t->when set by the caller). Wakes an idle worker when t becomes the earliest.
void timer_add(rtimer* t);
// Removes t if it is still in the heap; true if it was.
bool timer_del(rtimer* t) noexcept;
// The earliest deadline, kNever if none. Relaxed: a stale answer only delays a check.
std::int64_t timers_next() noexcept;
// Fires every timer due at `now`. Returns how many fired.
int timers_run(std::int64_t now);
// Number of timers in the heap.
std::size_t timers_pending() noexcept;

}  // namespace goro::detail
