// detail::sema: Go's runtime semaphore on the waiting layer (goro/detail/sema.hpp has the
// invariants). Waiters are woken after lock_ is released, through the dequeued records alone:
// a record's `next` is read before its unpark(), after which the record may be gone.
#include "goro/detail/sema.hpp"

namespace goro::detail {

void sema::acquire(wait_reason why, const goro::source_location& where) {
  lock_.lock();
  if (count_ > 0) {
    count_--;
    lock_.unlock();
    return;
  }
  waiter me;
  me.who = current_parker();
  waiters_.push(&me);
  park_releasing(lock_, me.who, why, where);
  // Woken by release(), which gave us its unit: nothing left to take.
}

bool sema::try_acquire() noexcept {
  lock_.lock();
  const bool got = count_ > 0;
  if (got) count_--;
  lock_.unlock();
  return got;
}

void sema::release(std::uint32_t n) noexcept {
  waiter* wake = nullptr;
  waiter** tail = &wake;
  lock_.lock();
  for (; n > 0; n--) {
    waiter* w = waiters_.pop();
    if (!w) break;
    *tail = w;
    tail = &w->next;
  }
  *tail = nullptr;
  count_ += n;
  lock_.unlock();
  while (wake) {
    waiter* next = wake->next;  // before unpark: the record lives on the waiter's stack
    unpark(wake->who);
    wake = next;
  }
}

}  // namespace goro::detail
