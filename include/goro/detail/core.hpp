// goro/detail/core.hpp: what the public templates need from the runtime. Not API.
//
// The waiting protocol in one sentence: every blocking primitive records the caller's parker in
// a waiter, queues it under the primitive's own lock, and calls park(); whoever completes the
// operation dequeues the waiter under that lock, fills it in, releases the lock and only then
// calls unpark(). A parker is either a goroutine (parking switches away from it, and the lock
// is released once its context is saved: src/sched/switch.cpp) or a plain OS thread (parking
// waits on a futex), so one channel serves both. The scheduler implements park() and unpark()
// (src/sched/park.cpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "goro/detail/spinlock.hpp"
#include "goro/detail/thread_annotations.hpp"
#include "goro/source_location.hpp"

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro {
struct options;
}

namespace goro::detail {

// Why a goroutine is parked; dump() prints Go's words for each.
enum class wait_reason : std::uint8_t {
  none,
  chan_send,        // "chan send"
  chan_recv,        // "chan receive"
  select,           // "select"
  select_no_cases,  // "select (no cases)"
  chan_send_nil,    // "chan send (nil chan)"
  chan_recv_nil,    // "chan receive (nil chan)"
  semacquire,       // "semacquire" (wait_group.wait)
  mutex_lock,       // "sync.Mutex.Lock"
  sleep,            // "sleep"
  rwmutex_lock,     // "sync.RWMutex.Lock"
  rwmutex_rlock,    // "sync.RWMutex.RLock"
  cond_wait,        // "sync.Cond.Wait"
  io_wait,          // "IO wait" (src/io: a descriptor's readiness)
};

struct goroutine;

// The thing a blocked caller waits on: a goroutine or a plain thread.
struct parker {
  goroutine* g = nullptr;              // null: a plain thread, woken through `word`
  std::atomic<std::uint32_t> word{0};  // thread parkers: 1 once unparked (futex word)
};

// The calling goroutine's parker, or the calling thread's.
parker* current_parker() noexcept;

// Blocks the caller until unpark(self). `unlock(arg)` runs exactly once, at the point where a
// concurrent unpark can no longer be missed: for a goroutine, on its worker after its context is
// saved; for a thread, before it sleeps. Wakeups are never spurious for goroutines; callers still
// re-check their condition where they can.
void park(parker* self, void (*unlock)(void*), void* arg, wait_reason why,
          const goro::source_location& where);

// park() for a primitive guarded by one spinlock: the caller queued its waiter under `lock`;
// park() releases it at that point.
// Not analysed: the release happens through a function pointer, on the worker's g0 once the
// goroutine's context is saved (for a thread, before it sleeps), which is beyond the thread-
// safety analysis; the declaration tells it that the caller holds `lock` no more.
GORO_NO_THREAD_SAFETY_ANALYSIS inline void park_releasing(spinlock& lock, parker* self,
                                                          wait_reason why,
                                                          const goro::source_location& where)
    GORO_RELEASE(lock) {
  park(
      self, [](void* l) GORO_NO_THREAD_SAFETY_ANALYSIS { static_cast<spinlock*>(l)->unlock(); },
      &lock, why, where);
}

// Parks the caller for ever (a nil channel, an empty select, a sleep too long to end): it
// counts as blocked, so a program left with nothing else to do gets the deadlock report.
[[noreturn]] void park_forever(wait_reason why, const goro::source_location& where);

// Makes the parker runnable again. Must be called after the lock passed to park() was released
// by the waker (the waker must not touch the waiter record after this call: it may be gone).
void unpark(parker* p) noexcept;

// Go's waiter record (sudog): one per blocked operation, on the blocked caller's stack.
struct select_state;
struct waiter {
  parker* who = nullptr;
  void* elem = nullptr;         // send: the value to take; recv: raw storage to construct into
  select_state* sel = nullptr;  // non-null when this waiter is one case of a select
  waiter* next = nullptr;
  waiter* prev = nullptr;
  std::uint32_t case_index = 0;
  bool success = false;  // set by the waker: true = value transferred, false = closed
};

struct select_state {
  std::atomic<std::uint32_t> done{0};  // 0 -> 1 once: the one CAS that picks a select's winner
  waiter* winner = nullptr;            // written by the waker that won the CAS, before unpark
};

// FIFO of waiters, guarded by the owning primitive's lock. `head_` is atomic only so that the
// lock-free fast paths may peek at emptiness.
class wait_queue {
 public:
  bool empty_relaxed() const noexcept { return head_.load(std::memory_order_relaxed) == nullptr; }
  void push(waiter* w) noexcept {
    w->next = nullptr;
    w->prev = tail_;
    if (tail_)
      tail_->next = w;
    else
      head_.store(w, std::memory_order_relaxed);
    tail_ = w;
  }
  void remove(waiter* w) noexcept {
    if (w->prev)
      w->prev->next = w->next;
    else if (head_.load(std::memory_order_relaxed) == w)
      head_.store(w->next, std::memory_order_relaxed);
    else
      return;  // not queued
    if (w->next)
      w->next->prev = w->prev;
    else
      tail_ = w->prev;
    w->next = w->prev = nullptr;
  }
  // Removes and returns the first waiter that may still be woken. A select waiter counts only
  // if this call wins its select's CAS; one that lost (its select already finished elsewhere) is
  // dropped, as in Go's dequeue().
  waiter* pop() noexcept {
    for (;;) {
      waiter* w = head_.load(std::memory_order_relaxed);
      if (!w) return nullptr;
      remove(w);
      if (!w->sel) return w;
      std::uint32_t expected = 0;
      // acq_rel: the winner's CAS orders our later writes to *w before the select reads them.
      if (w->sel->done.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
        w->sel->winner = w;
        return w;
      }
    }
  }

 private:
  std::atomic<waiter*> head_{nullptr};
  waiter* tail_ = nullptr;
};

// Spawning: the template go() allocates a goroutine with room for its closure, constructs the
// closure in place, then launches it.
struct closure_ops {
  void (*run)(void* closure);
  void (*destroy)(void* closure) noexcept;
};
void* goroutine_alloc(std::size_t size, std::size_t align, goroutine** out);
void goroutine_abandon(goroutine* g) noexcept;  // the closure's constructor threw
void goroutine_launch(goroutine* g, const closure_ops* ops, const goro::source_location& where);

// run(): runs fn(arg) as goroutine 1 and waits for it.
void run_main(void (*fn)(void*), void* arg, const options& opts,
              const goro::source_location& where);

std::uint64_t fastrand() noexcept;

// 1 + the index of the worker this thread is; 0 on plain threads. Channel operations read it
// before they might park, never after: a goroutine may resume on another worker.
extern constinit thread_local int tls_worker_slot;

// Called after a channel operation that found the channel's lock held by a goroutine running
// on another worker (1 + its index). A goroutine that keeps meeting that worker on its
// channels within one run moves there: goroutines sharing a busy channel end up on one core
// instead of bouncing its lock between two.
void note_lock_contention(int rival_slot) noexcept;
[[noreturn]] void throw_panic(const char* what);

}  // namespace goro::detail
#pragma GCC visibility pop
