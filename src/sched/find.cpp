// Finding work: what a worker's g0 does between goroutines (Go's findrunnable), in order:
//   1. dormant (its id >= procs after max_procs was lowered): hand everything over and wait;
//   2. fire due timers;
//   3. its own queues, with a look at the global queue every 61 ticks (fairness);
//   4. poll for I/O without blocking, if anyone waits on I/O and nobody blocks in the poller;
//   5. steal, as a spinning worker (steal.cpp), or end a watch begun before the last sleep;
//   6. go idle: join the idle list, look once more for work queued meanwhile, then sleep until
//      the earliest timer, the end of a watch, or the deadlock detector's next look; in
//      epoll_wait if anyone waits on I/O and no other worker blocks there (poll_blocker), else
//      on the park word.
//
// Invariants of the idle path (with wake.cpp's): a worker sleeps only while on the idle list,
// and leaves it before running anything; a spinning worker that goes idle gives its token
// back, and the last spinner to do so re-checks for work (work_visible()) first. At most one
// worker is poll_blocker; it makes the goroutines its poll found runnable only after it left
// the idle list, as any worker that runs them would.
#include "base/futex.hpp"
#include "poll/poll.hpp"
#include "sched/worker.hpp"

namespace goro::detail {

namespace {

// Dormant (max_procs was lowered): hand everything over and wait to be needed again.
void go_dormant(worker* w) {
  sched_state& s = S();
  goroutine* g;
  // acq_rel: pairs with the release that filled runnext, like take_local().
  while ((g = w->runnext.exchange(nullptr, std::memory_order_acq_rel)) || (g = w->q.pop()))
    s.global.push(g);
  goroutine* first = nullptr;
  while (w->inbox.pop(&first, 1)) s.global.push(first);
  // A spinning token kept here would stop every later wakep(), this one included.
  reset_spinning(w);
  wakep();
  // Our timers are fired by the others, but one sleeping already does not know of timers our
  // last goroutine added: only workers that go on finding work look at the heaps.
  if (timers_next() != kNever) wake_any_idle();
  futex_wait_nonzero(&w->park_word, kNever);
  w->park_word.store(0, std::memory_order_relaxed);
}

void run_due_timers(worker* w) {
  if (timers_next() == kNever) return;
  w->coarse_now = now_ns();
  if (timers_next() <= w->coarse_now) timers_run(w->coarse_now, static_cast<int>(w->id));
}

// This worker's queues and the global one.
goroutine* take_queued(worker* w) {
  sched_state& s = S();
  std::uint64_t tick = w->schedtick.load(std::memory_order_relaxed);
  if (tick % 61 == 0 && s.global.size()) {
    if (goroutine* g = take_global(w)) return g;
  }
  goroutine* g = nullptr;
  if (w->inbox.size() && w->inbox.pop(&g, 1)) return g;
  if ((g = take_local(w))) return g;
  if ((g = take_global(w))) {
    reset_spinning(w);
    return g;
  }
  return nullptr;
}

// Polls without blocking and makes runnable whoever waited on what is ready. Whether it found
// anyone.
bool poll_now() {
  if (netpoll_waiters() == 0 || S().poll_blocker.load(std::memory_order_seq_cst)) return false;
  parker* got[2 * kPollBatch];
  const int n = netpoll(0, got, 2 * kPollBatch);
  deliver_polled(got, n);
  return n > 0;
}

// Steals as a spinning worker, becoming one first if `may_spin` and fewer than half the busy
// workers spin already.
goroutine* try_steal(worker* w, bool may_spin) {
  sched_state& s = S();
  if (may_spin && !w->spinning.load(std::memory_order_relaxed)) {
    int busy = static_cast<int>(s.procs.load(std::memory_order_relaxed)) -
               s.npidle.load(std::memory_order_seq_cst);
    if (2 * s.nspinning.load(std::memory_order_seq_cst) < busy) {
      w->spinning.store(true, std::memory_order_relaxed);
      s.nspinning.fetch_add(1, std::memory_order_seq_cst);
    }
  }
  if (!w->spinning.load(std::memory_order_relaxed)) return nullptr;
  goroutine* g = steal(w);
  if (g) reset_spinning(w);
  return g;
}

// Joins the idle list. Returns false, off the list again, when work may have arrived
// meanwhile and the caller must look once more instead of sleeping.
bool enter_idle(worker* w) {
  sched_state& s = S();
  idle_lock.lock();
  if (s.global.size() || w->inbox.size()) {
    idle_lock.unlock();
    return false;
  }
  const bool was_spinning = w->spinning.load(std::memory_order_relaxed);
  w->spinning.store(false, std::memory_order_relaxed);
  w->idle = true;
  w->idle_next = s.idle_head;
  s.idle_head = w;
  s.npidle.fetch_add(1, std::memory_order_seq_cst);
  idle_lock.unlock();
  // A goroutine queued globally by a thread that saw npidle before our increment: it did not
  // wake anyone, so look once more (pairs with the RMW in push_global).
  if (s.global.size() != 0 && take_off_idle_list(w)) {
    // nspinning still counts us if we were spinning: keep the token.
    if (was_spinning) w->spinning.store(true, std::memory_order_relaxed);
    return false;
  }
  if (was_spinning && s.nspinning.fetch_sub(1, std::memory_order_seq_cst) == 1 && work_visible()) {
    // We were the last spinner and work arrived meanwhile: spin again rather than strand it.
    idle_lock.lock();
    const bool removed = w->idle && idle_remove_locked(w);
    if (removed) {
      w->spinning.store(true, std::memory_order_relaxed);
      s.nspinning.fetch_add(1, std::memory_order_seq_cst);
    }
    idle_lock.unlock();
    if (removed) return false;
    // Someone is waking us already: the sleep that follows returns at once.
  }
  return true;
}

// On the idle list: sleeps until woken, the earliest timer, the end of a watch (begun here if
// other workers have queues) or the deadlock detector's next look; leaves the list. Returns
// whether wakep() handed us its spinning token.
bool idle_sleep(worker* w, watch& wt, deadlock_detector& detector) {
  sched_state& s = S();
  std::int64_t deadline = timers_next();
  // A goroutine queued without a wakep() after this look is queued by someone who sees
  // nwatching == 0 and wakes us (ensure_watcher()), or who saw an earlier watcher, which looks
  // again after it stops watching.
  const bool watching = backlog_elsewhere(w);
  if (watching) {
    s.nwatching.fetch_add(1, std::memory_order_seq_cst);
    watch_begin(wt);
    deadline = std::min(deadline, deadline_after(wt.since, watch_period(w)));
  }
  deadline = detector.check(deadline);

  bool woken;
  parker* got[2 * kPollBatch];
  int ngot = 0;
  worker* none = nullptr;
  if (netpoll_waiters() > 0 &&
      s.poll_blocker.compare_exchange_strong(none, w, std::memory_order_seq_cst)) {
    // The poller's turn. seq_cst: the other half of wake_worker()'s Dekker pattern: a waker
    // whose park_word store we do not see here sees us in poll_blocker and breaks the poll.
    woken = w->park_word.load(std::memory_order_seq_cst) != 0;
    if (!woken) {
      ngot = netpoll(deadline, got, 2 * kPollBatch);
      woken = w->park_word.load(std::memory_order_acquire) != 0;  // as futex_wait_nonzero's
    }
    s.poll_blocker.store(nullptr, std::memory_order_seq_cst);
  } else {
    woken = futex_wait_nonzero(&w->park_word, deadline);
  }
  if (!woken) {
    // Timed out. A waker that took us off the list first is about to wake us: wait for it.
    if (!take_off_idle_list(w)) woken = futex_wait_nonzero(&w->park_word, kNever);
  } else {
    // Every waker takes us off the idle list before waking us; a wake that finds us still on
    // it was meant for an earlier wait (the park word is shared with the dormant wait).
    // Pushing ourselves again while listed would link us to ourselves.
    take_off_idle_list(w);
  }
  if (watching) s.nwatching.fetch_sub(1, std::memory_order_seq_cst);
  if (woken) w->park_word.store(0, std::memory_order_relaxed);
  w->coarse_now = now_ns();  // after a sleep: cheap next to it
  // Off the idle list now: the goroutines go to our own queue (ready() as on any worker).
  deliver_polled(got, ngot);
  return w->spinning.load(std::memory_order_relaxed);
}

}  // namespace

goroutine* take_global(worker* w) noexcept {
  sched_state& s = S();
  std::size_t total = s.global.size();
  if (total == 0) return nullptr;
  std::size_t procs = s.procs.load(std::memory_order_relaxed);
  std::size_t max = total / (procs ? procs : 1) + 1;
  if (max > run_queue::kSize / 2) max = run_queue::kSize / 2;
  goroutine* first = nullptr;
  std::size_t n = s.global.pop(&first, max);
  if (n == 0) return nullptr;
  goroutine* g = first;
  goroutine* rest = first->next;
  while (rest) {
    goroutine* nx = rest->next;
    push_local(w, rest);
    rest = nx;
  }
  return g;
}

void reset_spinning(worker* w) noexcept {
  if (!w->spinning.load(std::memory_order_relaxed)) return;
  w->spinning.store(false, std::memory_order_relaxed);
  // The last spinner to find work wakes another, so queued work is never stranded.
  if (S().nspinning.fetch_sub(1, std::memory_order_seq_cst) == 1) wakep();
}

goroutine* find_runnable(worker* w) {
  sched_state& s = S();
  watch wt;
  deadlock_detector detector;
  // Stealing at once is for a worker that just ran out of work or was handed the spinning token
  // by wakep(); one woken for any other reason watches first.
  // A worker whose goroutine just moved away to share a channel with another worker's
  // goroutines watches first too: stealing at once would split them again.
  // So does one whose last goroutines all ended in their first run: more such goroutines are
  // best left to the worker that spawns them (see launch()).
  bool may_spin = !w->moved_away && w->quick_exits < kQuickExits;
  w->moved_away = false;
  for (;;) {
    // acquire: pairs with the release in ensure_started()'s resize.
    if (w->id >= s.procs.load(std::memory_order_acquire)) {
      go_dormant(w);
      continue;
    }
    run_due_timers(w);
    if (goroutine* g = take_queued(w)) return g;
    if (poll_now()) continue;
    if (goroutine* g = try_steal(w, may_spin)) return g;
    if (wt.since) {
      if (goroutine* g = watch_end(w, wt)) {
        reset_spinning(w);
        return g;
      }
    }
    if (!enter_idle(w)) continue;
    may_spin = idle_sleep(w, wt, detector);
  }
}

}  // namespace goro::detail
