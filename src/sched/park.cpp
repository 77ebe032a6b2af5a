// Parking and waking: the scheduler's half of the waiting layer (goro/detail/core.hpp has the
// protocol every blocking primitive follows).
//
// Invariants:
//  - A goroutine is made runnable only by ready(), and only from `waiting` (or by launch(),
//    from `dead`); it is queued in exactly one place.
//  - counted_blocked is set by the parking goroutine before it parks and cleared by ready():
//    the goroutine counts in its worker's blocked_delta from finish_previous() to ready(), so
//    the deadlock detector's sums are exact whenever every worker is idle.
//  - A plain thread's parker counts in threads_blocked from park() until the unpark() that
//    wakes it (the waker takes it off, so a woken thread counts as able to wake others).
#include "base/check.hpp"
#include "base/futex.hpp"
#include "sched/worker.hpp"

namespace goro::detail {

void ready(goroutine* g, bool next) noexcept {
  sched_state& s = S();
  thread_state* t = ts();
  worker_hold hold(t);
  worker* w = hold.w;
  if (g->counted_blocked) {
    g->counted_blocked = false;
    if (w)
      owner_add(w->blocked_delta, -1);
    else
      s.global_blocked.fetch_sub(1, std::memory_order_relaxed);
  }
  GORO_DCHECK(g->state.load(std::memory_order_relaxed) == g_state::waiting);
  g->reason.store(wait_reason::none, std::memory_order_relaxed);
  g->state.store(g_state::runnable, std::memory_order_relaxed);
  if (s.debug_migrate) {
    push_elsewhere(g);
    return;
  }
  if (!w || w->id >= s.procs.load(std::memory_order_relaxed)) {
    push_global(g);
    return;
  }
  if (next) {
    // The woken goroutine runs next on this worker and so a ping-pong pair stays on one core.
    // No wakep() for it alone: this worker takes it as soon as the current goroutine parks, and
    // waking an idle worker costs tens of microseconds on a VM.
    // Only this worker fills runnext (thieves only empty it), so an empty slot can be filled
    // with a plain store. release: pairs with the acquire exchange that takes it.
    goroutine* old = w->runnext.load(std::memory_order_relaxed);
    if (!old) {
      w->runnext.store(g, std::memory_order_release);
      return;
    }
    // acq_rel: pairs with a thief's CAS that empties runnext; the displaced goroutine is ours.
    old = w->runnext.exchange(g, std::memory_order_acq_rel);
    if (!old) return;
    // The displaced goroutine is queued without a wakep(): this worker runs it as soon as the
    // current goroutine parks, and in a program bound by communication a second worker taking
    // it only makes both fight over the same channel (mpmc: 14 ns/op on one worker, 60-90 on
    // two). An idle worker watches instead and takes the queue if this worker turns out to be
    // running long goroutines (steal.cpp).
    push_local(w, old);
    ensure_watcher();
    return;
  }
  push_local(w, g);
  wakep();
}

void park_g(void (*unlock)(void*), void* arg, wait_reason why, const goro::source_location& where) {
  thread_state* t = ts();
  goroutine* g = t->g;
  enter_runtime(t);  // before reading the worker: the monitor may have taken it (hold.cpp)
  worker* w = t->w;
  g->reason.store(why, std::memory_order_relaxed);
  g->blocked_file.store(where.file_name(), std::memory_order_relaxed);
  g->blocked_line.store(where.line(), std::memory_order_relaxed);
  g->blocked_since.store(w ? w->coarse_now : now_ns(), std::memory_order_relaxed);
  // A sleep parks here only when it never ends (see sleep_g()), and then it is as blocked as
  // any other wait; a sleep with a deadline goes through sleep_g()'s timer instead.
  g->counted_blocked = true;
  t->m->unlock_fn = unlock;
  t->m->unlock_arg = arg;
  switch_out(post_action::park);
}

void sleep_g(std::int64_t until, const goro::source_location& where) {
  // A sleep too long to represent never ends: no timer, and it counts as blocked, so a
  // program left with nothing else to do gets the deadlock report (Go would hang).
  if (until == kNever) park_forever(wait_reason::sleep, where);
  struct sleep_timer : rtimer {
    goroutine* g;
  } tm;
  thread_state* t = ts();
  tm.g = t->g;
  tm.when = until;
  tm.deletable = false;  // a sleep is never cancelled
  tm.fire = [](rtimer* r, std::int64_t) { ready(static_cast<sleep_timer*>(r)->g, false); };
  goroutine* g = t->g;
  enter_runtime(t);  // as in park_g()
  g->reason.store(wait_reason::sleep, std::memory_order_relaxed);
  g->blocked_file.store(where.file_name(), std::memory_order_relaxed);
  g->blocked_line.store(where.line(), std::memory_order_relaxed);
  g->blocked_since.store(t->w ? t->w->coarse_now : now_ns(), std::memory_order_relaxed);
  g->counted_blocked = false;
  t->m->sleep_timer = &tm;
  switch_out(post_action::sleep);
}

void park(parker* self, void (*unlock)(void*), void* arg, wait_reason why,
          const goro::source_location& where) {
  if (self->g) {
    park_g(unlock, arg, why, where);
    return;
  }
  // A plain thread: it counts as blocked in a goro call while it waits (deadlock detector).
  sched_state& s = S();
  // The waker takes it off the count (in unpark), so a thread that was woken but has not run
  // yet already counts as able to wake others.
  s.threads_blocked.fetch_add(1, std::memory_order_seq_cst);
  if (unlock) unlock(arg);
  futex_wait_nonzero(&self->word, kNever);
  self->word.store(0, std::memory_order_relaxed);
}

void unpark(parker* p) noexcept {
  if (p->g) {
    ready(p->g, true);
    return;
  }
  S().threads_blocked.fetch_sub(1, std::memory_order_seq_cst);
  S().thread_wakes.fetch_add(1, std::memory_order_relaxed);
  p->word.store(1, std::memory_order_release);  // release: the waker's writes happen before
  futex_wake_one(&p->word);
}

void park_forever(wait_reason why, const goro::source_location& where) {
  parker* self = current_parker();
  for (;;) park(self, nullptr, nullptr, why, where);  // nothing unparks it
}

}  // namespace goro::detail
