// src/time/timers.hpp: the runtime's timer heaps (used by sleep, after, ticker, timer).
//
// One 4-ary min-heap per worker (a goroutine's timers go to its worker's heap) and one for
// plain threads, each under its own spinlock. Entries keep their deadline inline, and due
// timers are taken 64 per lock hold. Any worker fires any heap's due timers, its own first.
// Idle workers sleep until the earliest deadline of all heaps; busy workers check it between
// goroutines (see sched.cpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>

namespace goro::detail {

std::int64_t now_ns() noexcept;  // steady_clock, in ns
inline constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

// The deadline d ns after `now`, saturated: kNever (never) when it cannot be represented,
// `now` when d <= 0. Every deadline in the runtime is computed with it.
constexpr std::int64_t deadline_after(std::int64_t now, std::int64_t d) noexcept {
  if (d <= 0) return now;
  return d >= kNever - now ? kNever : now + d;
}

struct rtimer {
  std::int64_t when = 0;
  // Runs on a worker's scheduler stack (never in a goroutine) with no lock held, after the
  // timer left the heap. The timer code never touches the rtimer after calling fire, so fire
  // may free it or re-add it.
  void (*fire)(rtimer* t, std::int64_t now) = nullptr;
  // False for a timer that is never deleted (a goroutine's sleep): its index is not kept.
  bool deletable = true;
  // Position in the heap (kept only if deletable), -1 when not in it; guarded by the heap lock.
  std::int32_t index = -1;
  // Which heap holds it, -1 when none. Written under that heap's lock; read without it only to
  // find the lock to take (timer_del).
  std::atomic<std::int16_t> heap{-1};
  // Deletable timers only: fires in flight. Incremented when the timer leaves the heap to fire;
  // a fire function that cares (timer channels) decrements it when done, so stop()/reset() can
  // wait out every fire already under way. A count, not a flag: a ticker re-added by its fire
  // can fire again on another worker before the first fire has finished.
  std::atomic<std::uint32_t> firing{0};
};

// Adds t (t->when set by the caller, never kNever: a timer that never fires is not added).
// Wakes an idle worker when t becomes the earliest.
void timer_add(rtimer* t);
// Removes t (deletable) if it is still in a heap; true if it was.
bool timer_del(rtimer* t) noexcept;
// The earliest deadline, kNever if none. Relaxed: a stale answer only delays a check.
std::int64_t timers_next() noexcept;
// Fires every timer due at `now`. Returns how many fired.
int timers_run(std::int64_t now);
// Number of timers in the heap.
std::size_t timers_pending() noexcept;

}  // namespace goro::detail
