// src/timer: layer 3. The runtime's timer heaps (used by sleep, after, ticker, timer).
//
// One heap per worker (a goroutine's timers go to its worker's heap, see timer/heap.hpp) and
// one for plain threads, each under its own spinlock. Any worker fires any heap's due timers,
// its own first. This layer only keeps and fires timers: who waits for the earliest deadline
// and who must be woken when it changes is the scheduler's business (src/sched), told through
// timer_add()'s result.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "base/clock.hpp"

namespace goro::detail {

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

// Which heap a timer goes to: a worker's (its id) or the plain threads' one.
inline constexpr int kThreadHeapId = -1;

// Adds t (t->when set by the caller, never kNever: a timer that never fires is not added) to
// heap `heap_id` (a worker id, or kThreadHeapId). Returns whether t became that heap's
// earliest timer: then a worker sleeping until the old earliest deadline must be told.
bool timer_add(rtimer* t, int heap_id);
// Removes t (deletable) if it is still in a heap; true if it was.
bool timer_del(rtimer* t) noexcept;
// The earliest deadline, kNever if none. Relaxed: a stale answer only delays a check.
std::int64_t timers_next() noexcept;
// Fires every timer due at `now`, heap `own_heap_id` first (the caller's worker, or
// kThreadHeapId). Returns how many fired.
int timers_run(std::int64_t now, int own_heap_id);
// Number of timers in all heaps (sleeps included), as of their last change.
std::size_t timers_pending() noexcept;

}  // namespace goro::detail
