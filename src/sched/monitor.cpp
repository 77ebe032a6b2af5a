// The monitor (Go's sysmon): a thread of its own that hands a worker whose holder is stuck
// inside goro::blocking(), or whose goroutine has run for 10 ms without entering the
// scheduler, to a spare machine, so the goroutines queued on that worker run.
//
// It looks every 20 µs while it finds something to take, and backs off (doubling, after 50
// looks that found nothing) to one look per 10 ms: a program that does not block costs it 100
// wakeups a second. It takes a worker only
//  - from a call it has seen twice, i.e. one that has lasted at least one period (Go's
//    syscalltick check), so that short calls keep their worker and never switch threads;
//  - when someone waits for that worker: goroutines in its queues, or in the global queue
//    while no worker is idle to take them.
// It also polls for I/O (without blocking) when goroutines wait on it and no worker has polled
// for kPollStaleNs, e.g. because every worker is busy running goroutines (Go's sysmon polls
// after 10 ms too); the goroutines it finds go to the global queue (ready() off the workers).
// Both takes are the hold protocol of hold.cpp (a request, a process-wide barrier, a look at
// the holder's busy word, one CAS), so they race safely with the holder's return from the call
// or its next entry to the runtime.
#include <sys/prctl.h>
#include <time.h>

#include "base/clock.hpp"
#include "diag/diag.hpp"
#include "poll/poll.hpp"
#include "sched/worker.hpp"

namespace goro::detail {

namespace {

constexpr std::int64_t kMinDelayNs = 20'000;
constexpr std::int64_t kMaxDelayNs = 10'000'000;
constexpr int kLooksBeforeBackoff = 50;
constexpr std::int64_t kRunningTooLongNs = 10'000'000;  // Go's forcePreemptNS
constexpr std::int64_t kPollStaleNs = 10'000'000;

// Polls for I/O if goroutines wait on it and nobody has polled since kPollStaleNs (monitor
// thread only: its state is static).
void poll_if_stale(std::int64_t now) noexcept {
  static std::uint64_t seen_polls = 0;
  static std::int64_t seen_since = 0;
  const std::uint64_t polls = netpoll_count();
  if (netpoll_waiters() == 0 || S().poll_blocker.load(std::memory_order_seq_cst) ||
      polls != seen_polls) {
    seen_polls = polls;
    seen_since = now;
    return;
  }
  if (now - seen_since < kPollStaleNs) return;
  parker* got[2 * kPollBatch];
  const int n = netpoll(0, got, 2 * kPollBatch);
  deliver_polled(got, n);
  seen_polls = netpoll_count();
  seen_since = now;
}

// Whether goroutines wait for w: in its queues, or in the global queue or behind a due timer
// while no worker is idle to take them (timers fire only between goroutines).
bool wanted(const worker* w, std::int64_t now) noexcept {
  sched_state& s = S();
  if (has_queued(w)) return true;
  if (s.npidle.load(std::memory_order_seq_cst) != 0) return false;
  return s.global.size() != 0 || timers_next() <= now;
}

// Drops a request the monitor made of m that no longer stands (the goroutine switched, or the
// worker changed hands): a CAS, since m may be cancelling it at the same time.
void drop_claim(machine* m) noexcept {
  if (m) cancel_claim(m, m->claim.load(std::memory_order_relaxed));
}

// The hold protocol's monitor side (hold.cpp): asks m for its worker w, and gets it as
// `grant` if m is not in the runtime, is (in_call) or is not inside blocking(), and does not
// cancel first. On false a request may stay behind, which m cancels at its next entry or the
// next look drops.
bool claim_worker(machine* m, worker* w, bool in_call, std::uint32_t grant) noexcept {
  m->claim.store(kClaimAsked, kHoldOrder);
  hold_barrier();
  // seq_cst: the other half of the Dekker pattern under TSan (kHoldOrder); elsewhere the
  // barrier above orders it. Busy now: it may be using the worker; it cancels the request
  // when it next enters the runtime, and we look again next time. Else acquire: pairs with
  // the release that ended its last hold; all it wrote to the worker is visible here.
  if (m->busy.load(std::memory_order_seq_cst) != 0) return false;
  // Still where we saw it before the request: m still holds w (a holder gives its worker away
  // only inside the runtime, so a hand-off since is visible after busy's acquire), and a call
  // that ended (or began) since would be taken as the wrong kind. Any later entry to the
  // runtime sees the request (the barrier).
  // acquire: pairs with the release in start_machine().
  if (w->holder.load(std::memory_order_acquire) != m ||
      w->in_syscall.load(std::memory_order_relaxed) != in_call) {
    drop_claim(m);
    return false;
  }
  std::uint32_t asked = kClaimAsked;
  // acq_rel: the CAS that decides against the machine's (cancel_claim).
  return m->claim.compare_exchange_strong(asked, grant, std::memory_order_acq_rel);
}

// Whether the worker should go on without its holder, which sits in blocking(); takes it if so.
bool retake(worker* w, std::int64_t now) noexcept {
  // acquire: pairs with the release in start_machine(); *m is complete.
  machine* m = w->holder.load(std::memory_order_acquire);
  // acquire: pairs with the release that ended the holder's last hold (blocking_enter's);
  // in_syscall and syscall_tick below are as that hold left them.
  if (!m || m->busy.load(std::memory_order_acquire) != 0) return false;
  if (!w->in_syscall.load(std::memory_order_relaxed)) return false;
  const std::uint64_t tick = w->syscall_tick.load(std::memory_order_relaxed);
  if (tick != w->seen_syscall_tick) {
    w->seen_syscall_tick = tick;  // a call we have not seen before: look again next time
    return false;
  }
  if (!wanted(w, now)) return false;
  if (!claim_worker(m, w, true, kClaimTakenCall)) return false;
  // We hold the worker now, with all its last holder wrote; its call is no longer its.
  w->in_syscall.store(false, std::memory_order_relaxed);
  S().nlent.fetch_add(1, std::memory_order_relaxed);
  start_machine(w);
  return true;
}

// Takes the worker from a goroutine that has run for kRunningTooLongNs without entering the
// scheduler while others wait for the worker, and hands it to another machine; the goroutine
// runs on as a detached thread (hold.cpp).
bool take_running(worker* w, std::int64_t now) noexcept {
  sched_state& s = S();
  // acquire: pairs with the release in start_machine(); *m is complete.
  machine* m = w->holder.load(std::memory_order_acquire);
  const std::uint64_t tick = w->schedtick.load(std::memory_order_relaxed);
  if (tick != w->seen_schedtick || m != w->seen_holder) {
    w->seen_schedtick = tick;
    w->seen_holder = m;
    w->seen_since = now;
    drop_claim(m);
    return false;
  }
  if (!s.may_take_running || !m || now - w->seen_since < kRunningTooLongNs) return false;
  // acquire: pairs with the release that ended the machine's last hold; in_syscall below is
  // as that hold left it.
  if (m->busy.load(std::memory_order_acquire) != 0) return false;   // scheduling, not stuck
  if (w->in_syscall.load(std::memory_order_relaxed)) return false;  // retake()'s to take
  if (!wanted(w, now)) return false;
  if (s.ndetached.load(std::memory_order_relaxed) >= s.max_detached) return false;
  if (!claim_worker(m, w, false, kClaimTaken))
    return false;  // it cancelled first: it keeps the worker
  s.ndetached.fetch_add(1, std::memory_order_relaxed);
  w->seen_since = now;
  start_machine(w);
  return true;
}

void* monitor_main(void*) {
  setup_signal_stack();
  // The kernel's default timer slack (50 µs) would stretch every 20 µs look to 70.
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  sched_state& s = S();
  std::int64_t delay = kMinDelayNs;
  int empty_looks = 0;
  for (;;) {
    timespec ts{0, static_cast<long>(delay)};
    nanosleep(&ts, nullptr);
    bool took = false;
    // acquire: pairs with the release in ensure_started()'s resize.
    const unsigned procs = s.procs.load(std::memory_order_acquire);
    const std::int64_t now = now_ns();
    for (unsigned i = 0; i < procs; i++)
      took |= retake(s.workers[i], now) || take_running(s.workers[i], now);
    poll_if_stale(now);
    if (took) {
      empty_looks = 0;
      delay = kMinDelayNs;
    } else if (++empty_looks > kLooksBeforeBackoff) {
      delay = std::min(delay * 2, kMaxDelayNs);
    }
  }
  return nullptr;
}

}  // namespace

void monitor_start() {
  sched_state& s = S();
  s.may_take_running = hold_barrier_init();
  s.nthreads.fetch_add(1, std::memory_order_relaxed);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t th;
  int rc = pthread_create(&th, &attr, monitor_main, nullptr);
  pthread_attr_destroy(&attr);
  if (rc != 0) fatal_error("runtime: cannot start the monitor thread", "newosproc");
}

}  // namespace goro::detail
