// src/sched: layer 2. Goroutines, workers, run queues, parking and waking. Private.
//
// Words (Go's on the right; docs/design.md has the full glossary):
//   goroutine   G: a function with its own stack and saved context
//   worker      M+P: an OS thread with its run queue; runs goroutines from its scheduler stack
//   g0          the worker thread's own stack, where schedule() runs between goroutines
//   parker      the sleep/wake handle of a goroutine or a plain thread (layer 3)
//   waiter      sudog: one blocked operation queued on a channel, wait_group or mutex
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <source_location>

#include "context/context.hpp"
#include "goro/detail/core.hpp"
#include "time/timers.hpp"

namespace goro::detail {

// Where a goroutine lives in each state:
//   runnable  in exactly one run queue (a worker's ring or runnext, or the global queue)
//   running   on one worker (worker::cur)
//   waiting   nowhere but in the waiter queue of what it blocks on (or a timer, for sleep)
//   dead      in a free list, ready to be reused (its stack already returned to the pool)
enum class g_state : std::uint8_t { dead, runnable, running, waiting };

// libstdc++'s and libc++abi's per-thread exception state, saved per goroutine.
struct eh_state {
  void* caught = nullptr;
  unsigned int uncaught = 0;
};

// Laid out to stay small (192 bytes): an idle goroutine costs one stack page plus this, and
// the idle benchmark's budget is 1.6x Go's 2.7 KB.
struct goroutine {
  void* sp = nullptr;         // saved stack pointer while not running
  stack stk;                  // taken from the pool when first run; returned when dead
  goroutine* next = nullptr;  // run queue / free list link (owned by whichever holds it)
  std::atomic<std::uint64_t> id{0};
  // Diagnostics. Written by the goroutine itself (or its creator before it starts); read
  // racily by dump(), hence relaxed atomics.
  std::atomic<std::uint64_t> parent_id{0};
  std::atomic<const char*> created_file{nullptr};
  std::atomic<const char*> blocked_file{nullptr};
  std::atomic<std::int64_t> blocked_since{0};
  const closure_ops* ops = nullptr;
  void* closure = nullptr;  // inline_buf or heap
  parker park{};
  eh_state eh{};
#ifdef GORO_TSAN
  void* tsan_fiber = nullptr;
#endif
  std::atomic<std::uint32_t> created_line{0};
  std::atomic<std::uint32_t> blocked_line{0};
  int saved_errno = 0;
  int last_worker = -1;
  std::uint32_t closure_align = 0;  // alignment a heap closure was allocated with
  std::atomic<g_state> state{g_state::dead};
  std::atomic<wait_reason> reason{wait_reason::none};
  bool counted_blocked = false;  // parked for something only another goroutine/thread ends
  bool switched_out = false;     // has parked, slept, yielded or moved since it was spawned
  alignas(16) unsigned char inline_buf[48];
};

inline constexpr int kMaxWorkers = 256;  // max_procs is capped here

// Every goroutine record ever made (never freed, reused through free lists), for dump().
std::size_t goroutine_count_all() noexcept;  // records ever made
goroutine* goroutine_at(std::size_t i) noexcept;

// The goroutine running on this thread, or null on a plain thread or a worker's g0.
// Never inlined and never cached across a switch: a goroutine may resume on another thread.
goroutine* current_g() noexcept;
int current_worker_id() noexcept;  // -1 off the workers

// Makes g runnable (from waiting). `next`: run it before the waker's other queued goroutines.
void ready(goroutine* g, bool next) noexcept;

// The caller (a goroutine) parks; on its worker, after its context is saved, unlock(arg) runs.
void park_g(void (*unlock)(void*), void* arg, wait_reason why, const std::source_location& where);
// The caller (a goroutine) parks until the timer fires (sleep).
void sleep_g(std::int64_t until, const std::source_location& where);

// Runtime lifecycle.
void ensure_started(const options* opts);

// Deadlock detector state, summed over workers (see sched.cpp, "Deadlock detection").
std::int64_t live_goroutines() noexcept;

// Whether, at one instant, every worker is idle and every run queue is empty: no goroutine
// runs on a worker or waits in a queue for one. A goroutine that a plain thread or a timer
// makes runnable right after is not seen; nor is one still running on a worker that a lowered
// max_procs is retiring (read the goroutine records for that). For the leak check.
bool no_goroutine_runnable() noexcept;

}  // namespace goro::detail
