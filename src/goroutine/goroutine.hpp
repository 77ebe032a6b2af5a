// src/goroutine: layer 2. Goroutine records (what a goroutine is, where each lives, the
// registry of every record ever made, their free lists and ids) and the per-thread state
// that says which goroutine runs on this thread. Knows nothing of run queues or workers
// beyond an opaque pointer.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "base/sanitizers.hpp"
#include "fiber/fiber.hpp"
#include "goro/detail/core.hpp"

namespace goro::detail {

// Where a goroutine lives in each state, and who moves it out:
//   dead      in a free list (its stack already returned), or held by go() between
//             goroutine_alloc() and launch(), which makes it runnable
//   runnable  in exactly one run queue (a worker's ring or runnext or inbox, or the global
//             queue) or in worker::handoff; a worker that takes it makes it running
//   running   on one worker (worker::cur, or worker::prev until finish_previous() right after
//             a direct switch); it parks (waiting), yields or moves (runnable), or ends (dead),
//             always through switch_out()
//   waiting   nowhere but in the waiter queue of what it blocks on (or a timer, for sleep);
//             ready() makes it runnable
//   syscall   running inside goro::blocking() on its machine, which may have lost its worker;
//             back to running when the call returns
struct worker;   // the scheduler's (src/sched); this layer only carries the pointers
struct machine;  // (a worker is a processor, a machine a runtime thread)

enum class g_state : std::uint8_t { dead, runnable, running, waiting, syscall };

// libstdc++'s and libc++abi's per-thread exception state, saved per goroutine.
struct eh_state {
  void* caught = nullptr;
  unsigned int uncaught = 0;
};

// Laid out to stay small (192 bytes): an idle goroutine costs one stack page plus this, and
// the idle benchmark's budget is 1.6x Go's 2.7 KB. Fields are written by the goroutine's
// current owner (its creator until launch, then the worker running it, or whoever holds the
// queue it is in) unless said otherwise.
struct goroutine {
  void* sp = nullptr;         // saved stack pointer while not running
  stack stk;                  // taken when first run; returned when it ends
  goroutine* next = nullptr;  // run queue / free list link (owned by whichever holds it)
  std::atomic<std::uint64_t> id{0};
  // Diagnostics. Written by the goroutine itself (or its creator before it starts); read
  // racily by dump(), hence relaxed atomics.
  std::atomic<std::uint64_t> parent_id{0};
  std::atomic<const char*> created_file{nullptr};
  std::atomic<const char*> blocked_file{nullptr};
  std::atomic<std::int64_t> blocked_since{0};
  const closure_ops* ops = nullptr;
  void* closure = nullptr;  // inline_buf or heap (see closure_alloc())
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
  bool call_lost = false;        // its last blocking() call lost its worker (blocking.cpp)
  std::uint16_t lock_depth = 0;  // lock_os_thread() calls not yet undone (by the goroutine)
  // The machine this goroutine is locked to (lock_os_thread), or null. Written by the goroutine
  // while it runs; read by whoever takes it off a queue to run it (the queue's hand-over
  // publishes it).
  machine* locked_m = nullptr;
  alignas(16) unsigned char inline_buf[48];
};

// ---- The registry: every record ever made (never freed, reused), for dump() ----------------

std::size_t goroutine_count_all() noexcept;  // records ever made
goroutine* goroutine_at(std::size_t i) noexcept;

// A thread's own dead records, reused before the shared list (Go's gfget/gfput): a spawner on
// one worker and a runner on another trade them in batches, one lock round trip per batch.
// Owned by one thread; null caches (plain threads) go straight to the shared list.
struct record_cache {
  goroutine* free = nullptr;
  unsigned n = 0;
};
goroutine* record_get(record_cache* c);                   // throws std::bad_alloc
void record_put(record_cache* c, goroutine* g) noexcept;  // g->id must be 0
void record_flush(record_cache* c) noexcept;              // hands all of c to the shared list

// Goroutine ids: reserved in batches per thread (Go's goidcache), unique but ordered across
// threads only roughly. Batches grow from 1 to 16, so a small program's ids count up in
// creation order. id 1 is run()'s main goroutine, never handed out here.
struct id_cache {
  std::uint64_t next = 0, end = 0, batch = 0;
};
std::uint64_t id_get(id_cache* c) noexcept;  // null: a plain thread, one shared counter

// ---- Closures ------------------------------------------------------------------------------

// Room for g's closure: its inline buffer when the closure fits, else the heap (throws
// std::bad_alloc). closure_free() releases it with the same alignment.
void* closure_alloc(goroutine* g, std::size_t size, std::size_t align);
void closure_free(goroutine* g) noexcept;

// ---- The running goroutine of this thread ---------------------------------------------------

struct thread_state {
  machine* m = nullptr;    // the runtime thread this is, or null (a plain thread)
  worker* w = nullptr;     // the worker this thread holds, or null (a plain thread, a spare)
  goroutine* g = nullptr;  // the goroutine running on it, or null (on g0, or a plain thread)
  // The goroutine inside goro::blocking() on this thread (g is null meanwhile, so that goro
  // calls inside it block the thread, as on a plain thread), else null.
  goroutine* blocking_g = nullptr;
  parker thread_parker{};  // a plain thread's parker
};

// This thread's state. Never inlined, and opaque to the optimizer: a goroutine that parked on
// one worker may resume on another, so the address must be recomputed after every switch.
thread_state* ts() noexcept;

// The goroutine running on this thread, or null on a plain thread or a worker's g0. Never
// cached across a switch, like ts().
goroutine* current_g() noexcept;

// errno and the exception globals live in thread-local storage, and their accessors are
// declared `const`, so a compiler may compute their address once per function, even across a
// context switch after which the goroutine runs on another thread. These are opaque to the
// optimizer; use them, never `errno` or __cxa_get_globals() directly, around switches.
eh_state* eh_globals() noexcept;
int* errno_ptr() noexcept;

}  // namespace goro::detail
