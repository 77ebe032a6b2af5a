// Waits on descriptors: io_wait() and its deadlines and close (the internal API of io.hpp), and
// goro::io::wait_readable / wait_writable.
//
// Invariants (with src/poll's):
//  - A direction's deadline is rd/wd under the record's lock: 0 none, -1 passed (and
//    `expired` set), else a time, and then its timer is in a heap or firing. Only the lock's
//    holder adds or deletes the timer. A fire checks, under the lock, that the deadline it
//    serves is still set and due: one that was moved later, cleared, or belongs to an earlier
//    registration of the record (rd reset to 0 by pd_open) does nothing.
//  - Whoever wakes a waiter (a fire, io_evict, io_set_deadline) takes its parker out of the slot
//    under the lock and unparks it after releasing the lock.
//  - wait_readable()'s registration is its own: it registers a duplicate of the caller's
//    descriptor and deletes and closes it before returning, so the caller's later close, and
//    the number's reuse, meet no registration of ours.
#include "io/io.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <goro/io.hpp>
#include <stdexcept>
#include <string>
#include <system_error>

#include "base/clock.hpp"
#include "goroutine/goroutine.hpp"
#include "sched/sched.hpp"

namespace goro::detail {

namespace {

struct commit_arg {
  poll_desc* pd;
  poll_mode mode;
  parker* self;
};

// park()'s unlock step: the parker goes into the slot; if readiness or an unblock came first,
// the waiter is woken at once (it is parked already, its context saved).
void commit(void* arg) {
  auto* c = static_cast<commit_arg*>(arg);
  if (!pd_commit(c->pd, c->mode, c->self)) unpark(c->self);
}

void deadline_fire(rtimer* t, std::int64_t now) {
  auto* pt = static_cast<pd_timer*>(t);
  poll_desc* pd = pt->pd;
  const poll_mode mode = pt->mode;
  parker* p = nullptr;
  pd->lock.lock();
  const std::int64_t d = mode == poll_mode::read ? pd->rd : pd->wd;
  if (d > 0 && d <= now) {
    if (mode == poll_mode::read)
      pd->rd = -1;
    else
      pd->wd = -1;
    pd->expired(mode).store(true, std::memory_order_seq_cst);  // then the slot: see poll.hpp
    p = pd_unblock(pd, mode);
  }
  // relaxed: only timer channels wait for fires to finish; this keeps the count balanced.
  t->firing.fetch_sub(1, std::memory_order_relaxed);
  pd->lock.unlock();
  if (p) unpark(p);
}

}  // namespace

poll_desc* io_register(int fd) noexcept {
  ensure_started(nullptr);
  poll_desc* pd = pd_open(fd);
  if (!pd) return nullptr;
  // Set once per record, before its first timer is armed; never written again (a stale fire
  // may read it while a later registration runs).
  if (pd->rt.fire != deadline_fire) {
    pd->rt.fire = deadline_fire;
    pd->wt.fire = deadline_fire;
  }
  return pd;
}

void io_deregister(poll_desc* pd) noexcept {
  pd->lock.lock();
  timer_del(&pd->rt);
  timer_del(&pd->wt);
  pd->rd = 0;
  pd->wd = 0;
  pd->lock.unlock();
  pd_close(pd);
}

io_result io_wait(poll_desc* pd, poll_mode mode, const goro::source_location& where) {
  parker* self = current_parker();
  for (;;) {
    switch (pd_prepare_wait(pd, mode)) {
      case pd_prep::ready:
        return io_result::ready;
      case pd_prep::closed:
        return io_result::closed;
      case pd_prep::timeout:
        return io_result::timeout;
      case pd_prep::park:
        break;
    }
    if (!self->g) poll_wake_idle();
    commit_arg c{pd, mode, self};
    park(self, commit, &c, wait_reason::io_wait, where);
    if (pd_finish_wait(pd, mode)) return io_result::ready;
    // Woken by a deadline or a close (or a deadline that was moved on since): look again.
  }
}

io_result io_check(poll_desc* pd, poll_mode mode) noexcept {
  if (pd->closing.load(std::memory_order_seq_cst)) return io_result::closed;
  if (pd->expired(mode).load(std::memory_order_seq_cst)) return io_result::timeout;
  return io_result::ready;
}

void io_set_deadline(poll_desc* pd, poll_mode mode, std::int64_t when) {
  pd_timer& t = mode == poll_mode::read ? pd->rt : pd->wt;
  if (when == kNever) when = 0;
  parker* p = nullptr;
  pd->lock.lock();
  timer_del(&t);
  std::int64_t d = when;
  if (when == 0) {
    pd->expired(mode).store(false, std::memory_order_seq_cst);
  } else if (when <= now_ns()) {
    d = -1;
    pd->expired(mode).store(true, std::memory_order_seq_cst);  // then the slot: see poll.hpp
    p = pd_unblock(pd, mode);
  } else {
    pd->expired(mode).store(false, std::memory_order_seq_cst);
    t.when = when;
    try {
      start_timer(&t);
    } catch (...) {  // the heap could not grow: no deadline, then
      d = 0;
      pd->lock.unlock();
      throw;
    }
  }
  if (mode == poll_mode::read)
    pd->rd = d;
  else
    pd->wd = d;
  pd->lock.unlock();
  if (p) unpark(p);
}

void io_evict(poll_desc* pd) noexcept {
  pd->lock.lock();
  pd->closing.store(true, std::memory_order_seq_cst);  // then the slots: see poll.hpp
  parker* r = pd_unblock(pd, poll_mode::read);
  parker* w = pd_unblock(pd, poll_mode::write);
  pd->lock.unlock();
  if (r) unpark(r);
  if (w) unpark(w);
}

namespace {

// A plain thread's wait (or a goroutine's inside goro::blocking()): poll(2).
bool wait_thread(int fd, short events, std::int64_t until, const char* name) {
  for (;;) {
    pollfd p{fd, events, 0};
    timespec ts{};
    timespec* tsp = nullptr;
    if (until != kNever) {
      std::int64_t left = until - now_ns();
      if (left <= 0) return false;
      ts = {static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
      tsp = &ts;
    }
    const int n = ppoll(&p, 1, tsp, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), name);
    }
    if (n == 0) continue;  // timed out: the loop's clock check says so
    if (p.revents & POLLNVAL) throw std::system_error(EBADF, std::generic_category(), name);
    return true;
  }
}

bool wait_fd(int fd, poll_mode mode, time_point deadline, const goro::source_location& where,
             const char* name) {
  if (fd < 0)
    throw std::invalid_argument(std::string(name) + ": negative file descriptor " +
                                std::to_string(fd));
  const std::int64_t until =
      deadline == time_point::max()
          ? kNever
          : std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch())
                .count();
  if (!current_g()) return wait_thread(fd, mode == poll_mode::read ? POLLIN : POLLOUT, until, name);
  if (until != kNever && until <= now_ns()) return false;
  // Our own descriptor for the file: the registration is ours alone, and deleting it cannot
  // touch a registration of whatever later reuses the caller's number (see the top).
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) throw std::system_error(errno, std::generic_category(), name);
  poll_desc* pd = io_register(own);
  if (!pd) {
    const int err = errno;
    close(own);
    if (err == EPERM) return true;  // a regular file or a directory: always ready, as poll(2)
    throw std::system_error(err, std::generic_category(), name);
  }
  io_result r;
  try {
    if (until != kNever) io_set_deadline(pd, mode, until);
    r = io_wait(pd, mode, where);
  } catch (...) {
    io_deregister(pd);
    close(own);
    throw;
  }
  io_deregister(pd);
  close(own);
  return r == io_result::ready;
}

}  // namespace

}  // namespace goro::detail

namespace goro::io {

bool wait_readable(int fd, time_point deadline, goro::source_location where) {
  return detail::wait_fd(fd, detail::poll_mode::read, deadline, where, "goro::io::wait_readable");
}

bool wait_writable(int fd, time_point deadline, goro::source_location where) {
  return detail::wait_fd(fd, detail::poll_mode::write, deadline, where, "goro::io::wait_writable");
}

}  // namespace goro::io
