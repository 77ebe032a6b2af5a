// Spawning (go()) and run(): a goroutine from its record to its first queue.
//
// Invariants: a record handed out by goroutine_alloc() is dead and off every list until
// goroutine_launch() makes it runnable (or goroutine_abandon() returns it); run() is not
// re-entered (run_active), and its caller counts as a blocked plain thread while it waits.
#include <new>
#include <stdexcept>

#include "base/check.hpp"
#include "base/env.hpp"
#include "base/futex.hpp"
#include "diag/diag.hpp"
#include "goro/runtime.hpp"
#include "sched/worker.hpp"

namespace goro::detail {

void* goroutine_alloc(std::size_t size, std::size_t align, goroutine** out) {
  goroutine* g;
  machine* m = ts()->m;
  try {
    g = record_get(m ? &m->records : nullptr);
  } catch (const std::bad_alloc&) {
    fatal_error(nullptr, "runtime: out of memory");  // as Go: no goroutine without a record
  }
  void* mem;
  try {
    mem = closure_alloc(g, size, align);
  } catch (...) {
    goroutine_abandon(g);
    throw;
  }
  *out = g;
  return mem;
}

void goroutine_abandon(goroutine* g) noexcept {
  closure_free(g);
  machine* m = ts()->m;
  record_put(m ? &m->records : nullptr, g);
}

namespace {

// Returns true when the caller's run queue (or, when g went to the global queue, that one)
// overflowed, or the caller is a spawner the monitor detached from its worker. t is ts().
bool launch(thread_state* t, goroutine* g, const closure_ops* ops,
            const goro::source_location& where, std::uint64_t id) {
  sched_state& s = S();
  if (!id) id = id_get(t->m ? &t->m->ids : nullptr);
  worker_hold hold(t);
  worker* w = hold.w;
  g->ops = ops;
  g->id.store(id, std::memory_order_relaxed);
  g->parent_id.store(t->g ? t->g->id.load(std::memory_order_relaxed) : 0,
                     std::memory_order_relaxed);
  g->created_file.store(where.file_name(), std::memory_order_relaxed);
  g->created_line.store(where.line(), std::memory_order_relaxed);
  g->blocked_file.store(nullptr, std::memory_order_relaxed);
  g->blocked_since.store(0, std::memory_order_relaxed);
  g->reason.store(wait_reason::none, std::memory_order_relaxed);
  g->counted_blocked = false;
  g->switched_out = false;
  g->call_lost = false;
  g->lock_depth = 0;
  g->locked_m = nullptr;
  g->saved_errno = 0;
  g->eh = eh_state{};
  g->park.g = g;
  GORO_DCHECK(g->state.load(std::memory_order_relaxed) == g_state::dead);
  g->state.store(g_state::runnable, std::memory_order_relaxed);
  if (w)
    owner_add(w->live_delta, 1);
  else
    s.global_live.fetch_add(1, std::memory_order_relaxed);
  if (w && !s.debug_migrate && w->id < s.procs.load(std::memory_order_relaxed)) {
    // Like Go: the new goroutine runs next; the one it displaces is queued for anyone to steal.
    // acq_rel: pairs with take_local()'s exchange; the new goroutine is published to it.
    goroutine* old = w->runnext.exchange(g, std::memory_order_acq_rel);
    bool spilled = old && push_local(w, old);
    // Like Go, an idle worker is woken to help, unless the goroutines ending here lately all
    // ended in their first run: more of those are quicker to run here than to hand over (a
    // second core only adds cache-line transfers), so an idle worker just watches, as for a
    // woken goroutine queued here (see ready()).
    if (w->quick_exits >= kQuickExits)
      ensure_watcher();
    else
      wakep();
    return spilled;
  }
  push_global(g);
  // A backlog here counts as an overflow too; so does a spawner the monitor detached from its
  // worker (goroutine_launch() sends it back in line for one).
  return S().global.size() > run_queue::kSize || (t->m && t->m->detached);
}

}  // namespace

void goroutine_launch(goroutine* g, const closure_ops* ops, const goro::source_location& where) {
  thread_state* t = ts();
  if (!t->m) ensure_started(nullptr);  // a machine exists only once the runtime runs
  // A goroutine that has filled its worker's run queue yields, as Go's preemption would make it
  // do eventually: the goroutines it made run while their records and stacks are still hot,
  // instead of piling up by the million in the global queue.
  // A spawner the monitor detached from its worker (it ran too long) gets back in line for
  // one: spawning from a detached thread would queue every goroutine globally.
  if (launch(t, g, ops, where, 0) && t->g)  // a goroutine: t->m is its machine
    switch_out(t->m && t->m->detached ? post_action::requeue : post_action::yield);
}

void run_main(void (*fn)(void*), void* arg, const options& opts,
              const goro::source_location& where) {
  sched_state& s = S();
  if (current_g()) throw std::logic_error("goro::run: called from a goroutine");
  ensure_started(&opts);
  bool expected = false;
  // acq_rel: pairs with the release at main's end; one run() at a time.
  if (!s.run_active.compare_exchange_strong(expected, true, std::memory_order_acq_rel))
    throw std::logic_error("goro::run: another run() is in progress");

  struct main_closure {
    void (*fn)(void*);
    void* arg;
    std::atomic<std::uint32_t>* done;
  };
  static constexpr closure_ops ops{
      [](void* p) {
        auto* c = static_cast<main_closure*>(p);
        c->fn(c->arg);
        // Disarm the detector before waking run()'s caller: exiting goroutines are not a
        // deadlock, and run() is over for the program's purposes.
        // release: pairs with the detector's acquire and the next run()'s CAS.
        S().run_active.store(false, std::memory_order_release);
        S().threads_blocked.fetch_sub(1, std::memory_order_seq_cst);  // run()'s caller
        std::atomic<std::uint32_t>* done = c->done;
        done->store(1,
                    std::memory_order_release);  // release: main's writes happen before run returns
        futex_wake_one(done);  // `done` may be gone already: a stray futex wake is harmless
      },
      [](void*) noexcept {}};
  // Its own futex word, not the thread's parker: a wake that arrives after the caller has seen
  // `done` must not be left behind for the caller's next blocking call.
  std::atomic<std::uint32_t> done{0};
  goroutine* g = nullptr;
  void* mem = goroutine_alloc(sizeof(main_closure), alignof(main_closure), &g);
  ::new (mem) main_closure{fn, arg, &done};
  s.threads_blocked.fetch_add(1, std::memory_order_seq_cst);
  launch(ts(), g, &ops, where, 1);
  futex_wait_nonzero(&done, kNever);
  if (env_flag("GORO_LEAKCHECK")) leak_report(no_goroutine_runnable);
}

}  // namespace goro::detail
