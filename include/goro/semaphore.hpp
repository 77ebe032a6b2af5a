// goro/semaphore.hpp: golang.org/x/sync/semaphore's Weighted, parking goroutines instead of
// threads.
#pragma once

#include <cstdint>

#include "goro/context.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/source_location.hpp"

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro {

namespace detail {
struct sem_waiter;
}

// x/sync's semaphore.Weighted: a pool of n units that callers take and give back in any
// amounts. Waiters are served first come, first served: one that asks for more than is free
// holds back everyone behind it, even those whose smaller requests would fit (so a large
// request is never starved by small ones). Usable from goroutines and plain threads at once;
// blocked callers park (goroutines) or sleep (threads) and show in dumps as [select], as Go's
// do.
//
// Memory ordering: a release() happens before every acquire() it lets succeed.
// May be destroyed whenever nobody waits on it.
class semaphore {
 public:
  explicit semaphore(std::int64_t n) noexcept : size_(n) {}
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  // Takes n units, blocking until they are free and every earlier waiter is served. Asking for
  // more than the semaphore's size blocks for ever, as Go's Acquire with a context that is
  // never done (the dump shows [chan receive (nil chan)]).
  void acquire(std::int64_t n = 1, goro::source_location where = goro::source_location::current());
  // As acquire(n), giving up when ctx is done: returns true holding n units, or false holding
  // nothing. As in the current x/sync, a context already done fails at once, even when the
  // units are free; and a grant that races with the context's end counts as the end (the
  // units are given back, false is returned). More than the size waits for ctx alone.
  bool acquire(const context& ctx, std::int64_t n = 1,
               goro::source_location where = goro::source_location::current());
  // Takes n units if they are free and nobody waits; never blocks.
  bool try_acquire(std::int64_t n = 1) noexcept;
  // Gives back n units, waking the waiters they are enough for. Throws
  // panic_error("semaphore: released more than held") when more than the units taken are
  // given back, leaving the semaphore unchanged.
  void release(std::int64_t n = 1);

 private:
  void notify_locked(detail::sem_waiter** wake) noexcept;
  void remove_locked(detail::sem_waiter* w) noexcept;
  void push_locked(detail::sem_waiter* w) noexcept;
  static void wake_all(detail::sem_waiter* wake) noexcept;

  detail::spinlock lock_;
  const std::int64_t size_;
  std::int64_t cur_ = 0;                // units taken; lock_
  detail::sem_waiter* head_ = nullptr;  // waiters, FIFO; lock_
  detail::sem_waiter* tail_ = nullptr;
};

}  // namespace goro
#pragma GCC visibility pop
