// wait_group and mutex on the waiting layer.
//
// wait_group invariants: count_ changes only under lock_; waiters_ is non-empty only while
// count_ > 0. The last access add() makes to *this is lock_.unlock(): a waiter that sees zero
// takes lock_ once before returning, so the wait_group may be destroyed right after wait().
//
// mutex invariants: state_ has kLocked while owned and kWaiters while waiters_ is non-empty
// (changed only under lock_). unlock() with waiters hands ownership straight to the first
// waiter (kLocked stays set), so a woken locker owns the mutex when park() returns.
//
// Destroyed in use: the destructors (inline, one load) call destroyed_in_use() /
// destroyed_locked() below, which never return: they end the program through
// detail::fatal_panic() (a destructor cannot throw), naming the object's creation site.
#include "goro/sync.hpp"

#include <cinttypes>
#include <cstdio>

#include "diag/diag.hpp"
#include "goro/errors.hpp"

namespace goro {

using detail::waiter;

namespace {

// "<what> (created at file:line)", or just <what> without a creation site, then the panic.
[[noreturn]] void destroyed_panic(const char* what, const char* file,
                                  std::uint_least32_t line) noexcept {
  char text[1024];
  if (file && *file)
    std::snprintf(text, sizeof text, "%s (created at %s:%" PRIuLEAST32 ")", what, file, line);
  else
    std::snprintf(text, sizeof text, "%s", what);
  detail::fatal_panic(text);
}

}  // namespace

// Not analysed: it peeks at waiters_ without lock_, as said below.
GORO_NO_THREAD_SAFETY_ANALYSIS void wait_group::destroyed_in_use(
    std::int64_t count) const noexcept {
  // Waiters exist only while the counter is non-zero. A relaxed peek (the queue is guarded by
  // lock_, but nothing here relies on it: the object is being destroyed in use, and the text
  // is a diagnosis, not a decision).
  const bool waited_on = !waiters_.empty_relaxed();
  char what[96];
  std::snprintf(what, sizeof what, "goro::wait_group destroyed with counter %" PRId64 "%s", count,
                waited_on ? " and waiters" : "");
  destroyed_panic(what, created_file_, created_line_);
}

void mutex::destroyed_locked(std::uint32_t state) const noexcept {
  destroyed_panic((state & kWaiters) ? "goro::mutex destroyed while locked and waited on"
                                     : "goro::mutex destroyed while locked",
                  created_file_, created_line_);
}

void wait_group::add(int delta) {
  lock_.lock();
  std::int64_t c = count_.load(std::memory_order_relaxed) + delta;
  if (c < 0) {
    lock_.unlock();
    throw panic_error("sync: negative WaitGroup counter");
  }
  // release: every reader that acts on the counter takes lock_ (wait(), add()); the only
  // lock-free read is the destructor's in-use check, which needs no ordering. Kept release so
  // that no future lock-free reader can see 0 without the work done before it.
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

void wait_group::wait(goro::source_location where) {
  lock_.lock();
  if (count_.load(std::memory_order_relaxed) == 0) {
    lock_.unlock();
    return;
  }
  waiter me;
  me.who = detail::current_parker();
  waiters_.push(&me);
  detail::park_releasing(lock_, me.who, detail::wait_reason::semacquire, where);
}

void mutex::lock_slow(const goro::source_location& where) {
  lock_.lock();
  for (;;) {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    if (!(s & kLocked)) {
      // acquire: pairs with unlock()'s release, like lock()'s fast path.
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
  detail::park_releasing(lock_, me.who, detail::wait_reason::mutex_lock, where);
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
    // Ownership passes to w; kLocked stays set. release: pairs with the acquire of a later
    // lock() that finds the mutex free; w itself sees our writes through lock_ and its wakeup.
    state_.store(waiters_.empty_relaxed() ? kLocked : kLocked | kWaiters,
                 std::memory_order_release);
  } else {
    // release: pairs with the acquire CAS of the next lock().
    state_.store(0, std::memory_order_release);
  }
  lock_.unlock();
  if (w) detail::unpark(w->who);
}

}  // namespace goro
