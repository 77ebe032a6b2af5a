// The runtime's lifecycle: starting it, its options, worker threads, and resizing the pool
// when a later run() asks for another max_procs.
//
// Invariants: start_mutex serialises starts and resizes; workers are never destroyed (a
// lowered max_procs leaves the extra ones dormant, see find.cpp), so workers[i] stays valid
// for every i < nworkers once published.
#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <system_error>
#include <thread>

#include "base/env.hpp"
#include "base/futex.hpp"
#include "diag/diag.hpp"
#include "goro/runtime.hpp"
#include "sched/worker.hpp"

namespace goro::detail {

constinit thread_local int tls_worker_slot = 0;

namespace {

void* worker_main(void* arg) {
  auto* w = static_cast<worker*>(arg);
  thread_state* t = ts();
  t->w = w;
  tls_worker_slot = static_cast<int>(w->id) + 1;
  w->errno_addr = errno_ptr();
  w->eh_addr = eh_globals();
  w->rng = (0x9E3779B97F4A7C15ull * (w->id + 1)) | 1;
  setup_signal_stack();
  w->g0 = thread_fiber();
  for (;;) {
    goroutine* g = w->handoff;  // see switch_out()
    if (g)
      w->handoff = nullptr;
    else
      g = find_runnable(w);
    // However it found g (its own queue, the global one, a steal), a spinning worker stops
    // spinning now: counted as spinning while it runs g, it would keep wakep() and
    // ensure_watcher() from waking anyone while nobody looks for work.
    reset_spinning(w);
    execute(w, g);
  }
  return nullptr;
}

}  // namespace

// start_mutex held. Makes workers [nworkers, n) and starts their threads. Every worker struct
// exists before any thread starts, so code iterating over [0, procs) never meets a missing one.
void start_workers(unsigned n) {
  sched_state& s = S();
  unsigned from = s.nworkers.load(std::memory_order_relaxed);
  if (n <= from) return;
  for (unsigned id = from; id < n; id++) {
    auto* w = new worker;
    w->id = id;
    s.workers[id] = w;
  }
  // release: pairs with the acquire of nworkers in every loop over workers; the structs exist.
  s.nworkers.store(n, std::memory_order_release);
  for (unsigned id = from; id < n; id++) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    // Created detached: std::thread(f).detach() can crash under churn with glibc 2.36
    // (seen in the peer benchmarks' thread churn).
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    int rc = pthread_create(&th, &attr, worker_main, s.workers[id]);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      // Not strerror(): glibc documents it as not thread-safe.
      std::fprintf(stderr, "goro: cannot start worker thread: %s\n",
                   std::generic_category().message(rc).c_str());
      std::abort();
    }
  }
}

void ensure_started(const options* opts) {
  sched_state& s = S();
  // acquire: pairs with the release below; a started runtime is fully set up.
  if (!opts && s.started.load(std::memory_order_acquire)) return;
  lock_guard<os_mutex> lk(S().start_mutex);  // S(), as start_workers() names it
  unsigned procs = opts && opts->max_procs ? opts->max_procs : 0;
  std::size_t stack_size = opts && opts->stack_size ? opts->stack_size : 0;
  bool first = !s.started.load(std::memory_order_relaxed);
  if (first) {
    if (!procs)
      procs = static_cast<unsigned>(std::min<std::size_t>(env_size("GORO_MAXPROCS"), kMaxWorkers));
    if (!procs) procs = std::thread::hardware_concurrency();
    if (!procs) procs = 1;
    if (!stack_size) stack_size = env_size("GORO_STACK_SIZE");
    if (!stack_size) stack_size = default_stack_size();
    s.debug_migrate = env_flag("GORO_DEBUG_MIGRATE");
  }
  if (procs > static_cast<unsigned>(kMaxWorkers)) procs = kMaxWorkers;
  if (stack_size) s.pool.set_size(stack_size);
  if (first) {
    install_signal_handlers();
#ifdef GORO_TSAN
    int before = count_process_threads();
#endif
    // release: pairs with find_runnable()'s acquire.
    s.procs.store(procs, std::memory_order_release);
    start_workers(procs);
#ifdef GORO_TSAN
    // TSan starts a background thread on the first pthread_create; it can wake nobody.
    s.extra_threads = count_process_threads() - before - static_cast<int>(procs);
    if (s.extra_threads < 0) s.extra_threads = 0;
#endif
    // release: pairs with the acquire at the top; everything above is visible to a caller that
    // skips the lock.
    s.started.store(true, std::memory_order_release);
    return;
  }
  const unsigned old_procs = s.procs.load(std::memory_order_relaxed);
  if (procs && procs != old_procs) {
    const unsigned old_nworkers = s.nworkers.load(std::memory_order_relaxed);
    start_workers(procs);
    // release: pairs with find_runnable()'s acquire (dormant or not).
    s.procs.store(procs, std::memory_order_release);
    // Wake the idle workers (they re-read procs: the ones now beyond it go dormant) and the
    // dormant ones (those now within it rejoin). Never a worker that is neither: it is busy and
    // re-reads procs in find_runnable anyway, and a wake it did not ask for would leave its
    // park word set, so that its next idle wait returned at once with the worker still in the
    // idle list, and its next idle push linked it to itself (a cycle that hung every worker).
    unsigned nw = s.nworkers.load(std::memory_order_relaxed);
    bool wake[kMaxWorkers] = {};
    idle_lock.lock();
    for (unsigned i = 0; i < nw; i++)
      wake[i] = (s.workers[i]->idle && idle_remove_locked(s.workers[i])) ||
                (i >= old_procs && i < old_nworkers);
    idle_lock.unlock();
    for (unsigned i = 0; i < nw; i++)
      if (wake[i]) wake_worker(s.workers[i]);
  }
}

}  // namespace goro::detail
