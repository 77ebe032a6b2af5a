// cond: Go's notifyList (runtime/sema.go) on the waiting layer.
//
// Invariants (under lock_):
//  - tickets in [notify_ticket_, wait_ticket_) belong to waiters not woken yet; each of them
//    is parked in the list, or between taking its ticket and parking (it then finds its
//    ticket already notified and does not park);
//  - a waiter in the list has a ticket >= notify_ticket_ (in wrap-around order), and leaves
//    the list only when signal() or broadcast() notifies its ticket; it is woken after lock_
//    is released, through its record alone (read `next` first: the record is on its stack).
#include "goro/cond.hpp"

#include "goro/detail/core.hpp"
#include "goro/detail/thread_annotations.hpp"

namespace goro {

namespace detail {
struct cond_waiter {
  parker* who;
  std::uint32_t ticket;
  cond_waiter* next = nullptr;
};
}  // namespace detail

namespace {
// a < b in ticket order, across the wrap-around of the 32-bit counters (Go's less()).
bool ticket_before(std::uint32_t a, std::uint32_t b) noexcept {
  return static_cast<std::int32_t>(a - b) < 0;
}
}  // namespace

// The caller holds m_ (Go's contract; usually through a std::unique_lock<goro::mutex>, which
// libstdc++ does not annotate): it is released and taken again here, which the thread-safety
// analysis cannot see from the declaration, so it is not asked to follow this function.
GORO_NO_THREAD_SAFETY_ANALYSIS void cond::wait(goro::source_location where) {
  lock_.lock();
  const std::uint32_t t = wait_ticket_.load(std::memory_order_relaxed);
  wait_ticket_.store(t + 1, std::memory_order_relaxed);
  lock_.unlock();
  m_.unlock();
  lock_.lock();
  if (ticket_before(t, notify_ticket_.load(std::memory_order_relaxed))) {
    lock_.unlock();  // notified between the ticket and now
  } else {
    detail::cond_waiter me{detail::current_parker(), t};
    if (tail_)
      tail_->next = &me;
    else
      head_ = &me;
    tail_ = &me;
    detail::park_releasing(lock_, me.who, detail::wait_reason::cond_wait, where);
  }
  m_.lock(where);
}

void cond::signal() noexcept {
  // Nobody has a ticket that is not notified yet: nothing to do (Go's fast path). relaxed: a
  // waiter that took its ticket before our caller took or released the mutex is ordered
  // before this load through the mutex; one racing with us need not be woken.
  if (wait_ticket_.load(std::memory_order_relaxed) ==
      notify_ticket_.load(std::memory_order_relaxed))
    return;
  lock_.lock();
  const std::uint32_t t = notify_ticket_.load(std::memory_order_relaxed);
  if (t == wait_ticket_.load(std::memory_order_relaxed)) {
    lock_.unlock();
    return;
  }
  notify_ticket_.store(t + 1, std::memory_order_relaxed);
  // The holder of ticket t: parked in the list, or about to find t notified and not park.
  detail::cond_waiter* prev = nullptr;
  detail::cond_waiter* w = head_;
  while (w && w->ticket != t) {
    prev = w;
    w = w->next;
  }
  if (w) {
    (prev ? prev->next : head_) = w->next;
    if (tail_ == w) tail_ = prev;
  }
  lock_.unlock();
  if (w) detail::unpark(w->who);
}

void cond::broadcast() noexcept {
  // As in signal().
  if (wait_ticket_.load(std::memory_order_relaxed) ==
      notify_ticket_.load(std::memory_order_relaxed))
    return;
  lock_.lock();
  notify_ticket_.store(wait_ticket_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  detail::cond_waiter* w = head_;
  head_ = tail_ = nullptr;
  lock_.unlock();
  while (w) {
    detail::cond_waiter* next = w->next;  // before unpark: the record may be gone after it
    detail::unpark(w->who);
    w = next;
  }
}

}  // namespace goro
