// Waking and idling: the idle list, the spinning token, and queueing a goroutine where a
// worker will find it.
//
// Invariants:
//  - A worker is in the idle list iff worker::idle, both under idle_lock; npidle counts the
//    list. Whoever takes a worker off the list (wakep, wake_any_idle, push_to, a resize, or the
//    worker itself) is the one who may wake it, and does so after releasing the lock.
//  - nspinning counts spinning tokens: one per worker with worker::spinning set. wakep() hands
//    a token together with the wake, so at most one worker is woken per submission.
//  - A goroutine queued where no worker looks is never left there: push_global() and the idle
//    path of find_runnable() order their accesses to npidle (seq_cst RMWs) so that either the
//    pusher sees the idle worker or the worker sees the push.
//  - An idle worker sleeps on its park_word or, if it is poll_blocker, in epoll_wait:
//    wake_worker() sets the word and, if the worker is the one polling, breaks its poll.
#include "base/check.hpp"
#include "base/futex.hpp"
#include "poll/poll.hpp"
#include "sched/worker.hpp"

namespace goro::detail {

void wake_worker(worker* w) noexcept {
  // seq_cst: a release for futex_wait_nonzero, and the first half of the Dekker pattern with a
  // worker blocking in epoll_wait (find.cpp's idle_sleep): either it sees this store before
  // it blocks, or we see it in poll_blocker below and break its poll.
  w->park_word.store(1, std::memory_order_seq_cst);
  futex_wake_one(&w->park_word);
  if (S().poll_blocker.load(std::memory_order_seq_cst) == w) netpoll_break();
}

void deliver_polled(parker* const* ps, int n) noexcept {
  for (int i = 0; i < n; i++) {
    if (ps[i]->g)
      ready(ps[i]->g, false);
    else
      unpark(ps[i]);
  }
}

bool idle_remove_locked(worker* w) noexcept {
  sched_state& s = S();
  GORO_DCHECK(idle_lock.held());
  for (worker** p = &s.idle_head; *p; p = &(*p)->idle_next) {
    if (*p == w) {
      *p = w->idle_next;
      w->idle = false;
      s.npidle.fetch_sub(1, std::memory_order_seq_cst);
      return true;
    }
  }
  return false;
}

worker* pop_idle_locked() noexcept {
  sched_state& s = S();
  GORO_DCHECK(idle_lock.held());
  worker** at = &s.idle_head;
  // Another than the one blocked in epoll_wait, if there is one: that one goes on polling
  // (Go's wakep starts another thread than the one in netpoll).
  if (*at && (*at)->idle_next && *at == s.poll_blocker.load(std::memory_order_seq_cst))
    at = &(*at)->idle_next;
  worker* w = *at;
  if (w) {
    *at = w->idle_next;
    w->idle = false;
    s.npidle.fetch_sub(1, std::memory_order_seq_cst);
  }
  return w;
}

bool take_off_idle_list(worker* w) noexcept {
  idle_lock.lock();
  const bool removed = w->idle && idle_remove_locked(w);
  idle_lock.unlock();
  return removed;
}

void wakep_slow() noexcept {
  sched_state& s = S();
  int zero = 0;
  if (!s.nspinning.compare_exchange_strong(zero, 1, std::memory_order_seq_cst)) return;
  idle_lock.lock();
  worker* w = pop_idle_locked();
  if (w) w->spinning.store(true, std::memory_order_relaxed);  // read by w after our wake
  idle_lock.unlock();
  if (!w) {
    s.nspinning.fetch_sub(1, std::memory_order_seq_cst);
    return;
  }
  wake_worker(w);
}

void wake_any_idle() noexcept {
  sched_state& s = S();
  if (s.npidle.load(std::memory_order_seq_cst) == 0) return;
  idle_lock.lock();
  worker* w = pop_idle_locked();
  idle_lock.unlock();
  if (w) wake_worker(w);
}

void poll_wake_idle() noexcept {
  if (!S().poll_blocker.load(std::memory_order_seq_cst)) wake_any_idle();
}

void push_global(goroutine* g) noexcept {
  S().global.push(g);
  // An RMW on npidle, not a fence (TSan does not model fences): either it comes after a
  // worker's npidle.fetch_add and wakep() sees that worker idle, or before, and that worker's
  // re-check of the global queue in find_runnable() sees this push. Without it a worker going
  // idle could miss this goroutine while we miss the worker.
  S().npidle.fetch_add(0, std::memory_order_seq_cst);
  wakep();
}

std::uint32_t spill_half(worker* w, goroutine* g) noexcept {
  goroutine* batch[run_queue::kSize / 2 + 1];
  std::uint32_t n = w->q.take_half(batch);
  batch[n++] = g;
  for (std::uint32_t i = 0; i + 1 < n; i++) batch[i]->next = batch[i + 1];
  S().global.push(batch[0], batch[n - 1], n);
  return n;
}

void push_to(worker* v, goroutine* g) noexcept {
  v->inbox.push(g);
  if (take_off_idle_list(v)) wake_worker(v);
}

void push_elsewhere(goroutine* g) noexcept {
  sched_state& s = S();
  unsigned procs = s.procs.load(std::memory_order_relaxed);
  if (procs < 2) {
    push_global(g);
    return;
  }
  unsigned target = (static_cast<unsigned>(g->last_worker + 1) + fastrand() % (procs - 1)) % procs;
  if (static_cast<int>(target) == g->last_worker) target = (target + 1) % procs;
  push_to(s.workers[target], g);
}

void start_timer(rtimer* t) {
  const int w = current_worker_id();
  // A worker running goroutines checks the heaps between them, and so does its own g0 after
  // the caller parks; idle workers sleep until the old earliest deadline and must be told of
  // an earlier one added by a plain thread.
  if (timer_add(t, w < 0 ? kThreadHeapId : w) && w < 0) wake_any_idle();
}

int current_worker_id() noexcept {
  worker* w = ts()->w;
  return w ? static_cast<int>(w->id) : -1;
}

std::int64_t sum_over_workers(std::atomic<std::int64_t> worker::*counter) noexcept {
  sched_state& s = S();
  std::int64_t n = 0;
  // acquire: pairs with the release in start_workers().
  unsigned nw = s.nworkers.load(std::memory_order_acquire);
  for (unsigned i = 0; i < nw; i++) n += (s.workers[i]->*counter).load(std::memory_order_relaxed);
  return n;
}

std::int64_t live_goroutines() noexcept {
  return S().global_live.load(std::memory_order_relaxed) + sum_over_workers(&worker::live_delta);
}

}  // namespace goro::detail
