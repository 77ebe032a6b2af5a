// src/xsync: layer 10, golang.org/x/sync (semaphore and errgroup), built on sync, chan,
// context and the waiting layer. This file: semaphore, x/sync's algorithm.
//
// Invariants (under lock_):
//  - 0 <= cur_ <= size_ while nothing is misused; a waiter is granted (cur_ += its n, taken
//    off the queue) only from the front and only when it fits, so the queue is served in
//    order;
//  - a waiter in the queue is not granted yet; `granted` is set as it leaves the queue by a
//    grant (a cancelled ctx waiter that leaves by itself is not);
//  - a plain waiter is woken (unpark) after lock_ is released, through its record alone, read
//    before the unpark; a ctx waiter is woken by closing its `ready` channel under lock_, while
//    its owner is parked in select on it or waiting for lock_, so the channel outlives the
//    close.
#include "goro/semaphore.hpp"

#include "goro/errors.hpp"
#include "goro/select.hpp"

namespace goro {

namespace detail {
struct sem_waiter {
  std::int64_t n;
  parker* who = nullptr;               // a plain acquire: woken by unpark
  chan_impl<signal>* ready = nullptr;  // an acquire with a context: closed when granted
  bool granted = false;
  sem_waiter* prev = nullptr;
  sem_waiter* next = nullptr;
};
}  // namespace detail

using detail::sem_waiter;

void semaphore::push_locked(sem_waiter* w) noexcept {
  w->prev = tail_;
  w->next = nullptr;
  (tail_ ? tail_->next : head_) = w;
  tail_ = w;
}

void semaphore::remove_locked(sem_waiter* w) noexcept {
  (w->prev ? w->prev->next : head_) = w->next;
  (w->next ? w->next->prev : tail_) = w->prev;
  w->prev = w->next = nullptr;
}

void semaphore::notify_locked(sem_waiter** wake) noexcept {
  // The front waiter first, and no one behind a waiter that does not fit (x/sync: letting small
  // requests jump ahead would starve large ones).
  while (sem_waiter* w = head_) {
    if (size_ - cur_ < w->n) break;
    cur_ += w->n;
    remove_locked(w);
    w->granted = true;
    if (w->ready) {
      w->ready->close();
    } else {
      w->next = *wake;
      *wake = w;
    }
  }
}

void semaphore::wake_all(sem_waiter* wake) noexcept {
  while (wake) {
    sem_waiter* next = wake->next;  // before unpark: the record is on the waiter's stack
    detail::unpark(wake->who);
    wake = next;
  }
}

void semaphore::acquire(std::int64_t n, goro::source_location where) {
  lock_.lock();
  if (size_ - cur_ >= n && !head_) {
    cur_ += n;
    lock_.unlock();
    return;
  }
  if (n > size_) {
    lock_.unlock();
    // Go: `<-ctx.Done()` on a context that is never done, a nil channel.
    detail::park_forever(detail::wait_reason::chan_recv_nil, where);
  }
  sem_waiter me{n};
  me.who = detail::current_parker();
  push_locked(&me);
  detail::park_releasing(lock_, me.who, detail::wait_reason::select, where);
  // Granted by notify_locked(): we hold n units.
}

bool semaphore::acquire(const context& ctx, std::int64_t n, goro::source_location where) {
  const recv_chan<signal>& done = ctx.done();
  if (!done) {
    acquire(n, where);
    return true;
  }
  lock_.lock();
  // A context already done fails, even if the units are free: its end happened before this
  // call. (err() is set before done() closes; either says the context ended.)
  if (ctx.err()) {
    lock_.unlock();
    return false;
  }
  if (size_ - cur_ >= n && !head_) {
    cur_ += n;
    lock_.unlock();
    return true;
  }
  if (n > size_) {
    lock_.unlock();  // do not hold back the others for a request that cannot succeed
    done.recv(where);
    return false;
  }
  const chan<signal> ready = make_chan<signal>();
  sem_waiter me{n};
  me.ready = ready.impl();
  push_locked(&me);
  lock_.unlock();

  bool granted = false;
  select(on_recv(
             ready, [&] { granted = true; }, where),
         on_recv(done, [] {}));
  if (!granted) {
    // The context ended first; a grant may have raced with it.
    sem_waiter* wake = nullptr;
    lock_.lock();
    if (me.granted) {
      cur_ -= n;  // pretend it did not happen: give the units back
      notify_locked(&wake);
    } else {
      const bool front = head_ == &me;
      remove_locked(&me);
      // Our request may have held back smaller ones behind it that fit now.
      if (front && size_ > cur_) notify_locked(&wake);
    }
    lock_.unlock();
    wake_all(wake);
    return false;
  }
  // Granted; but if the context ended meanwhile, its end counts first (x/sync does the same).
  if (ctx.err()) {
    release(n);
    return false;
  }
  return true;
}

bool semaphore::try_acquire(std::int64_t n) noexcept {
  lock_.lock();
  const bool ok = size_ - cur_ >= n && !head_;
  if (ok) cur_ += n;
  lock_.unlock();
  return ok;
}

void semaphore::release(std::int64_t n) {
  sem_waiter* wake = nullptr;
  lock_.lock();
  if (n > cur_) {
    lock_.unlock();
    throw panic_error("semaphore: released more than held");
  }
  cur_ -= n;
  notify_locked(&wake);
  lock_.unlock();
  wake_all(wake);
}

}  // namespace goro
