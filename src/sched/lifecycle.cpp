// The runtime's lifecycle: starting it, its options, worker threads, and resizing the pool
// when a later run() asks for another max_procs.
//
// Invariants: start_mutex serialises starts and resizes; workers are never destroyed (a
// lowered max_procs leaves the extra ones dormant, see find.cpp), so workers[i] stays valid
// for every i < nworkers once published.
#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <system_error>
#include <thread>

#include "base/cpus.hpp"
#include "base/env.hpp"
#include "base/futex.hpp"
#include "diag/diag.hpp"
#include "goro/runtime.hpp"
#include "sched/worker.hpp"

namespace goro::detail {

constinit thread_local int tls_worker_slot = 0;

namespace {

// Spares kept parked, beyond which a machine left without a worker ends its thread: at least
// kMinSpares, and while calls that lost their worker are still under way (sched_state::nlent),
// as many as those: each of them hands its thread back when it returns, and the goroutines
// behind them need a thread each as they enter their next call, so a burst of long calls
// reuses its threads instead of making one per call; once the burst is over the pool shrinks
// back to kMinSpares at once.
constexpr int kMinSpares = 16;

void* machine_main(void* arg) {
  auto* m = static_cast<machine*>(arg);
  thread_state* t = ts();
  t->m = m;
  m->errno_addr = errno_ptr();
  m->eh_addr = eh_globals();
  setup_signal_stack();
  m->g0 = thread_fiber();
  for (;;) {
    worker* w = m->p;
    if (m->detached) {  // its goroutine has switched away: it holds nothing now
      m->detached = false;
      S().ndetached.fetch_sub(1, std::memory_order_relaxed);
    }
    if (w && m->locked_g && !m->handoff) {
      // Our locked goroutine switched away: nothing else runs here. The worker goes on
      // elsewhere, and we wait until whoever finds the goroutine runnable hands it back.
      m->p = nullptr;
      start_machine(w);
      w = nullptr;
    }
    if (!w) {
      t->w = nullptr;
      tls_worker_slot = 0;
      if (m->locked_g) {
        wait_for_locked(m);
      } else if (!spare_park(m)) {
        // Ended by returning, not pthread_exit(): its forced unwind crashes where the C++
        // runtime's unwinder is not libgcc's (libc++ with libunwind, the clang-libcxx build).
        return nullptr;
      }
      continue;
    }
    t->w = w;
    tls_worker_slot = static_cast<int>(w->id) + 1;
    // On g0 (busy): a request the monitor left is moot, the worker is between goroutines.
    cancel_claim(m, m->claim.load(std::memory_order_relaxed));
    goroutine* g = m->handoff;  // see switch_out()
    if (g)
      m->handoff = nullptr;
    else
      g = find_runnable(w);
    if (g->locked_m && g->locked_m != m) {
      run_locked(m, w, g);  // g runs on its own thread, with our worker; we hold none now
      continue;
    }
    // However it found g (its own queue, the global one, a steal), a spinning worker stops
    // spinning now: counted as spinning while it runs g, it would keep wakep() and
    // ensure_watcher() from waking anyone while nobody looks for work.
    reset_spinning(w);
    execute(m, g);
  }
  return nullptr;
}

// Machines live in memory of their own, not the heap: a hand-off may make one in the middle of
// a program that allocates nothing (see alloc_test), and a program out of memory must still be
// able to report it.
machine* new_machine() noexcept {
  void* mem =
      mmap(nullptr, sizeof(machine), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) fatal_error(nullptr, "runtime: out of memory");
  return ::new (mem) machine;
}

void delete_machine(machine* m) noexcept {
  record_flush(&m->records);
  m->~machine();
  munmap(m, sizeof(machine));
}

// Starts a thread running machine_main(m). Past max_threads, the program ends (Go's limit).
void start_thread(machine* m) noexcept {
  sched_state& s = S();
  const int made = s.threads_made.fetch_add(1, std::memory_order_relaxed) + 1;
  if (s.max_threads > 0 && made > s.max_threads) {
    char line[64];
    std::snprintf(line, sizeof line, "runtime: program exceeds %d-thread limit", s.max_threads);
    fatal_error(line, "thread exhaustion");
  }
  s.nthreads.fetch_add(1, std::memory_order_relaxed);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  // Created detached: std::thread(f).detach() can crash under churn with glibc 2.36
  // (seen in the peer benchmarks' thread churn).
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t th;
  int rc = pthread_create(&th, &attr, machine_main, m);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    char line[96];
    // Not strerror(): glibc documents it as not thread-safe.
    std::snprintf(line, sizeof line, "runtime: failed to create new OS thread (%s)",
                  std::generic_category().message(rc).c_str());
    fatal_error(line, rc == EAGAIN ? "thread exhaustion" : "newosproc");
  }
}

}  // namespace

void start_machine(worker* w) noexcept {
  sched_state& s = S();
  s.spare_lock.lock();
  machine* m = s.spare_head;
  if (m) {
    s.spare_head = m->spare_next;
    s.nspare--;
  }
  s.spare_lock.unlock();
  if (m) {
    w->holder.store(m, std::memory_order_release);  // release: the monitor reads *m
    m->p = w;
    // release: pairs with the acquire in spare_park(); the spare sees w and all the last
    // holder wrote to it.
    m->park_word.store(1, std::memory_order_release);
    futex_wake_one(&m->park_word);
    return;
  }
  m = new_machine();
  w->holder.store(m, std::memory_order_release);  // release: the monitor reads *m
  m->p = w;
  start_thread(m);  // pthread_create publishes m (and w) to the new thread
}

bool spare_park(machine* m) {
  sched_state& s = S();
  s.spare_lock.lock();
  const int keep = std::max(kMinSpares, s.nlent.load(std::memory_order_relaxed));
  if (s.nspare >= keep) {
    // Spares parked while more calls were out are too many now: wake them without a worker,
    // and each ends in turn (it comes back here). No wall-clock wait: the pool shrinks as
    // soon as the calls that needed it are back.
    machine* extra = nullptr;
    while (s.nspare > keep) {
      machine* x = s.spare_head;
      s.spare_head = x->spare_next;
      s.nspare--;
      x->spare_next = extra;
      extra = x;
    }
    s.spare_lock.unlock();
    while (extra) {
      machine* x = extra;
      extra = x->spare_next;
      x->p = nullptr;
      x->park_word.store(1, std::memory_order_release);  // release: as in start_machine()
      futex_wake_one(&x->park_word);
    }
    // Enough spares: this thread ends. Nothing refers to m any more (a spare is reachable only
    // through the spare list, and a machine without a worker through nothing else).
    s.nthreads.fetch_sub(1, std::memory_order_relaxed);
    delete_machine(m);
    teardown_signal_stack();
    return false;
  }
  m->spare_next = s.spare_head;
  s.spare_head = m;
  s.nspare++;
  s.spare_lock.unlock();
  futex_wait_nonzero(&m->park_word, kNever);  // acquire: see start_machine()
  m->park_word.store(0, std::memory_order_relaxed);
  return true;
}

void run_locked(machine* m, worker* w, goroutine* g) noexcept {
  reset_spinning(w);
  machine* lm = g->locked_m;
  m->p = nullptr;
  w->holder.store(lm, std::memory_order_release);  // release: the monitor reads *lm
  lm->lent_p = w;
  lm->lent_g = g;
  // release: pairs with the acquire in wait_for_locked(); lm sees w, g and what we wrote.
  lm->park_word.store(1, std::memory_order_release);
  futex_wake_one(&lm->park_word);
}

void wait_for_locked(machine* m) noexcept {
  futex_wait_nonzero(&m->park_word, kNever);  // acquire: see run_locked()
  m->park_word.store(0, std::memory_order_relaxed);
  m->p = m->lent_p;
  m->handoff = m->lent_g;
  m->lent_p = nullptr;
  m->lent_g = nullptr;
}

// start_mutex held. Makes workers [nworkers, n), each with a machine of its own, and starts their
// threads. Every worker struct exists before any thread starts, so code iterating over [0, procs)
// never meets a missing one.
void start_workers(unsigned n) {
  sched_state& s = S();
  unsigned from = s.nworkers.load(std::memory_order_relaxed);
  if (n <= from) return;
  for (unsigned id = from; id < n; id++) {
    auto* w = new worker;
    w->id = id;
    w->rng = (0x9E3779B97F4A7C15ull * (id + 1)) | 1;
    s.workers[id] = w;
  }
  // release: pairs with the acquire of nworkers in every loop over workers; the structs exist.
  s.nworkers.store(n, std::memory_order_release);
  for (unsigned id = from; id < n; id++) start_machine(s.workers[id]);
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
    if (!procs) procs = default_procs();  // affinity, capped by the cgroup quota (Go 1.25)
    if (!procs) procs = 1;
    if (!stack_size) stack_size = env_size("GORO_STACK_SIZE");
    if (!stack_size) stack_size = default_stack_size();
    s.debug_migrate = env_flag("GORO_DEBUG_MIGRATE");
    unsigned max_threads = opts && opts->max_threads ? opts->max_threads : 0;
    if (!max_threads) max_threads = static_cast<unsigned>(env_size("GORO_MAXTHREADS"));
    s.max_threads = max_threads ? static_cast<int>(std::min(max_threads, 1u << 30)) : 10000;
    s.max_detached = static_cast<int>(std::max(16u, 4 * std::max(procs, 1u)));
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
    monitor_start();
#ifdef GORO_TSAN
    // TSan starts a background thread on the first pthread_create; it can wake nobody.
    s.extra_threads = count_process_threads() - before - static_cast<int>(procs) - 1;
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
