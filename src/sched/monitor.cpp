// The monitor (Go's sysmon): a thread of its own that hands a worker whose holder is stuck
// inside goro::blocking() to a spare machine, so the goroutines queued on that worker run.
//
// It looks every 20 µs while it finds something to take, and backs off (doubling, after 50
// looks that found nothing) to one look per 10 ms: a program that does not block costs it 100
// wakeups a second. It takes a worker only
//  - from a call it has seen twice, i.e. one that has lasted at least one period (Go's
//    syscalltick check), so that short calls keep their worker and never switch threads;
//  - when someone waits for that worker: goroutines in its queues, or in the global queue
//    while no worker is idle to take them.
// The claim is the CAS of blocking.cpp, so it races safely with the holder's return.
#include <time.h>

#include "base/clock.hpp"
#include "diag/diag.hpp"
#include "sched/worker.hpp"

namespace goro::detail {

namespace {

constexpr std::int64_t kMinDelayNs = 20'000;
constexpr std::int64_t kMaxDelayNs = 10'000'000;
constexpr int kLooksBeforeBackoff = 50;

// Whether the worker should go on without its holder, which sits in blocking(); claims it if so.
bool retake(worker* w) noexcept {
  sched_state& s = S();
  // acquire: pairs with the release in blocking_enter(); syscall_tick below is that call's.
  if (w->status.load(std::memory_order_acquire) != p_syscall) return false;
  const std::uint64_t tick = w->syscall_tick.load(std::memory_order_relaxed);
  if (tick != w->seen_syscall_tick) {
    w->seen_syscall_tick = tick;  // a call we have not seen before: look again next time
    return false;
  }
  const bool wanted =
      has_queued(w) || (s.global.size() != 0 && s.npidle.load(std::memory_order_seq_cst) == 0);
  if (!wanted) return false;
  std::uint32_t expected = p_syscall;
  // acquire: pairs with the release in blocking_enter(): we hold the worker now, with all its
  // last holder wrote.
  if (!w->status.compare_exchange_strong(expected, p_running, std::memory_order_acquire,
                                         std::memory_order_relaxed))
    return false;  // the call returned meanwhile
  start_machine(w);
  return true;
}

void* monitor_main(void*) {
  setup_signal_stack();
  sched_state& s = S();
  std::int64_t delay = kMinDelayNs;
  int empty_looks = 0;
  for (;;) {
    timespec ts{0, static_cast<long>(delay)};
    nanosleep(&ts, nullptr);
    bool took = false;
    // acquire: pairs with the release in ensure_started()'s resize.
    const unsigned procs = s.procs.load(std::memory_order_acquire);
    for (unsigned i = 0; i < procs; i++) took |= retake(s.workers[i]);
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
