// wait_group and mutex on the waiting layer.
//
// wait_group invariants: count_ changes only under lock_; waiters_ is non-empty only while
// count_ > 0. The last access add() makes to *this is lock_.unlock(): a waiter that sees zero
// takes lock_ once before returning, so the wait_group may be destroyed right after wait().
//
// mutex invariants: state_ has kLocked while owned and kWaiters while waiters_ is non-empty
// (changed only under lock_). unlock() with waiters hands ownership straight to the first
// waiter (kLocked stays set), so a woken locker owns the mutex when park() returns.
#include "goro/sync.hpp"

#include "goro/errors.hpp"

namespace goro {

using detail::waiter;

void wait_group::add(int delta) {
  lock_.lock();
  std::int64_t c = count_.load(std::memory_order_relaxed) + delta;
  if (c < 0) {
    lock_.unlock();
    throw panic_error("sync: negative WaitGroup counter");
  }
  count_.store(c, std::memory_order_release);
  waiter* wake = nullptr;
  if (c == 0) {
    waiter** tail = &wake;
    while (waiter* w = waiters_.pop()) {
      *tail = w;
      tail = &w->next;
    }
    *tail = nullptr;
  }
  lock_.unlock();
  while (wake) {
    waiter* next = wake->next;  // before unpark: the waiter (and *this) may vanish after it
    detail::unpark(wake->who);
    wake = next;
  }
}

void wait_group::wait(std::source_location where) {
  lock_.lock();
  if (count_.load(std::memory_order_relaxed) == 0) {
    lock_.unlock();
    return;
  }
  waiter me;
  me.who = detail::current_parker();
  waiters_.push(&me);
  detail::park(me.who, detail::unlock_spinlock, &lock_, detail::wait_reason::semacquire, where);
}

void mutex::lock_slow(const std::source_location& where) {
  lock_.lock();
  for (;;) {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    if (!(s & kLocked)) {
      if (state_.compare_exchange_weak(s, s | kLocked, std::memory_order_acquire)) {
        lock_.unlock();
        return;
      }
      continue;
    }
    if (s & kWaiters) break;
    if (state_.compare_exchange_weak(s, s | kWaiters, std::memory_order_relaxed)) break;
  }
  waiter me;
  me.who = detail::current_parker();
  waiters_.push(&me);
  detail::park(me.who, detail::unlock_spinlock, &lock_, detail::wait_reason::mutex_lock, where);
  // Woken by unlock_slow(): we own the mutex now. The unlocker's writes happen before this
  // point through the lock_ hand-over and the wakeup (run queue or futex, release/acquire).
}

void mutex::unlock_slow() {
  lock_.lock();
  std::uint32_t s = state_.load(std::memory_order_relaxed);
  if (!(s & kLocked)) {
    lock_.unlock();
    throw panic_error("sync: unlock of unlocked mutex");
  }
  waiter* w = waiters_.pop();
  if (w) {
    // Ownership passes to w; kLocked stays set. release: pairs with the fence in lock_slow().
    state_.store(waiters_.empty_relaxed() ? kLocked : kLocked | kWaiters,
                 std::memory_order_release);
  } else {
    state_.store(0, std::memory_order_release);
  }
  lock_.unlock();
  if (w) detail::unpark(w->who);
}

}  // namespace goro
