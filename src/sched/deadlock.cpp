// The deadlock detector ("fatal error: all goroutines are asleep - deadlock!"), run by idle
// workers before they sleep (find.cpp), and the cut of the scheduler it shares with the leak
// check (all_idle_and_queues_empty_locked). It reads the scheduler's state, so it lives here;
// the reports themselves are printed by src/diag.
//
// Reported when, twice in a row 20 ms apart and with no scheduling in between: run() is in
// progress, every goroutine is parked on something only another goroutine or thread can end
// (no goroutine runnable, running or sleeping), no timer is pending, and every thread of the
// process is a worker or is itself blocked in a goro call. The last condition is read from
// /proc/self/task: any other thread might hold a channel and wake someone, so it vetoes.
// Threads of the runtime's own (src/os's signal relay) count as accounted for, and while a
// channel is registered for signals (os::notify) nothing is reported, as in Go; nor while
// anyone waits on I/O (src/poll's waiter count), since the kernel can end that wait.
// The per-worker counters are exact only while every worker is idle, which is the first
// thing checked, under idle_lock (a worker leaves the idle list only under it).
#include <dirent.h>

#include "base/check.hpp"
#include "diag/diag.hpp"
#include "poll/poll.hpp"
#include "sched/worker.hpp"

namespace goro::detail {

namespace {

constexpr std::int64_t kConfirmNs = 20'000'000;      // a suspicion is confirmed this much later
constexpr std::int64_t kThreadPollNs = 100'000'000;  // a plain thread may block unseen: look

// Set by src/os (see sched.hpp); seq_cst, read here only.
std::atomic<int> service_threads{0};
std::atomic<int> external_wakers{0};

bool threads_all_accounted() noexcept {
  sched_state& s = S();
  // The runtime's own threads (machines, the monitor), service threads (the signal relay) and
  // plain threads blocked in goro calls.
  int expected = s.nthreads.load(std::memory_order_relaxed) +
                 s.threads_blocked.load(std::memory_order_seq_cst) + s.extra_threads +
                 service_threads.load(std::memory_order_seq_cst);
  int n = count_process_threads();
  return n >= 0 && n <= expected;
}

}  // namespace

void deadlock_count_service_thread() noexcept {
  service_threads.fetch_add(1, std::memory_order_seq_cst);
}

void deadlock_external_wakers(int delta) noexcept {
  external_wakers.fetch_add(delta, std::memory_order_seq_cst);
}

int count_process_threads() noexcept {
  DIR* d = opendir("/proc/self/task");
  if (!d) return -1;
  int n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

bool all_idle_and_queues_empty_locked() noexcept {
  sched_state& s = S();
  GORO_DCHECK(idle_lock.held());
  // Under idle_lock nobody enters or leaves the idle list: if all `procs` workers are in it,
  // none runs a goroutine or can queue one meanwhile, so the queues read below are a cut.
  // procs: relaxed, it was published (release in ensure_started) before run() launched the
  // goroutines whose state is asked about.
  if (s.npidle.load(std::memory_order_seq_cst) !=
      static_cast<int>(s.procs.load(std::memory_order_relaxed)))
    return false;
  if (s.global.size() != 0) return false;
  // acquire: pairs with the release in start_workers(); every workers[i] below exists.
  const unsigned nw = s.nworkers.load(std::memory_order_acquire);
  for (unsigned i = 0; i < nw; i++)
    if (has_queued(s.workers[i])) return false;
  return true;
}

bool no_goroutine_runnable() noexcept {
  idle_lock.lock();
  const bool none = all_idle_and_queues_empty_locked();
  idle_lock.unlock();
  return none;
}

bool deadlock_detector::suspected_locked(signature* sig) noexcept {
  sched_state& s = S();
  // acquire: pairs with the releases in run_main(); a stale "active" only delays the report by a
  // round.
  if (!s.run_active.load(std::memory_order_acquire)) return false;
  if (external_wakers.load(std::memory_order_seq_cst) > 0) return false;
  // A goroutine or thread waiting on I/O: the kernel can wake it (Go's detector is quiet too).
  if (netpoll_waiters() > 0) return false;
  if (!all_idle_and_queues_empty_locked()) return false;
  // With every worker idle, the per-worker counters are exact (see the top of this file).
  // acquire: pairs with the release in start_workers().
  const unsigned nw = s.nworkers.load(std::memory_order_acquire);
  std::int64_t live = s.global_live.load(std::memory_order_relaxed);
  std::int64_t blocked = s.global_blocked.load(std::memory_order_relaxed);
  std::uint64_t ticks = 0;
  for (unsigned i = 0; i < nw; i++) {
    const worker* v = s.workers[i];
    live += v->live_delta.load(std::memory_order_relaxed);
    blocked += v->blocked_delta.load(std::memory_order_relaxed);
    ticks += v->schedtick.load(std::memory_order_relaxed);
  }
  if (live <= 0 || blocked != live) return false;
  if (timers_pending() != 0) return false;
  *sig = {ticks, s.thread_wakes.load(std::memory_order_relaxed), live};
  return true;
}

std::int64_t deadlock_detector::check(std::int64_t deadline) {
  sched_state& s = S();
  signature sig;
  idle_lock.lock();
  const bool suspect_now = suspected_locked(&sig);
  idle_lock.unlock();
  if (suspect_now) {
    if (suspected_ && sig == last_ && threads_all_accounted()) {
      idle_lock.lock();
      const bool still = suspected_locked(&sig) && sig == last_;
      idle_lock.unlock();
      if (still) fatal_deadlock();
    }
    suspected_ = true;
    last_ = sig;
    return std::min(deadline, deadline_after(now_ns(), kConfirmNs));
  }
  suspected_ = false;
  // acquire: as in suspected_locked().
  if (s.run_active.load(std::memory_order_acquire) && live_goroutines() > 0)
    return std::min(deadline, deadline_after(now_ns(), kThreadPollNs));
  return deadline;
}

}  // namespace goro::detail
