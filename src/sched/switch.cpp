// Switching: a goroutine's life on a worker, from its first run to its end.
//
// The park protocol (docs/design.md, "Parking"): a goroutine that switches away leaves a
// request (worker::action) and switches straight to the next local goroutine, or to g0 when
// there is none or it should look elsewhere (next_direct()). Whatever runs next, on its own
// stack, carries the request out in finish_previous(): only then, with the old goroutine's
// context saved, is a parked goroutine's lock released (so a waker can never resume a context
// that is still being saved), a yielding one queued, or an ended one's stack freed.
//
// Invariants:
//  - machine::cur is the goroutine running on the machine and ts()->g the same, or both null
//    on g0 (or inside blocking(), where ts()->g is null and cur is still the goroutine). A
//    goroutine's state is `running` from prepare_run() until the finish_previous() after its
//    switch_out(): for a moment after a direct switch, the previous goroutine is still `running`
//    while cur is already the next one.
//  - machine::action is none except between a switch_out() and the finish_previous() that
//    follows it on the same machine, which always runs before anything else there. Only
//    post_action::requeue is ever asked with no worker held (blocking.cpp).
//  - errno and the exception globals are per goroutine: saved at every switch away, restored
//    after every resume, through addresses found once per machine (never cached across a
//    switch by the compiler: see goroutine.hpp).
#include "fiber/switch.hpp"

#include <new>

#include "base/check.hpp"
#include "diag/diag.hpp"
#include "sched/worker.hpp"

namespace goro::detail {

namespace {

[[noreturn]] void goroutine_main(void* arg);

fiber_ref fiber_of(const goroutine* g) noexcept {
#ifdef GORO_TSAN
  return {g->sp, g->stk.lo, g->stk.size, g->tsan_fiber};
#else
  return {g->sp, g->stk.lo, g->stk.size, nullptr};
#endif
}

// Makes g the goroutine running on m (which holds w); called just before switching to it
// (from g0, or from the goroutine that hands over to it directly).
void prepare_run(machine* m, worker* w, goroutine* g) {
  GORO_DCHECK(g->state.load(std::memory_order_relaxed) == g_state::runnable);
  GORO_DCHECK(m->cur == nullptr || m->cur == m->prev);
  if (!g->stk) {
    try {
      g->stk = w->stacks.take(S().pool);
    } catch (const std::bad_alloc&) {
      fatal_error(nullptr, "runtime: out of memory");
    }
    owner_add(w->stacks_delta, 1);
    g->sp = ctx_make(g->stk.top(), goroutine_main, g);
#ifdef GORO_TSAN
    g->tsan_fiber = w->tsan_fibers.take();
#endif
  }
  m->cur = g;
  ts()->g = g;
  g->last_worker = static_cast<int>(w->id);
  g->state.store(g_state::running, std::memory_order_relaxed);
  owner_add(w->schedtick, 1);
}

// finish_previous() for a machine without a worker (the monitor took it while g ran): what
// g asked for, through the shared structures a plain thread uses.
void finish_detached(post_action a, goroutine* g, machine* m) {
  sched_state& s = S();
  g->switched_out = true;
  switch (a) {
    case post_action::park:
      g->state.store(g_state::waiting, std::memory_order_relaxed);
      if (g->counted_blocked) s.global_blocked.fetch_add(1, std::memory_order_relaxed);
      if (m->unlock_fn) m->unlock_fn(m->unlock_arg);  // from here on, g may be woken
      break;
    case post_action::sleep:
      g->state.store(g_state::waiting, std::memory_order_relaxed);
      // Idle workers sleep until the earliest deadline they know of: tell them.
      if (timer_add(m->sleep_timer, kThreadHeapId)) wake_any_idle();
      break;
    case post_action::exit:
      s.global_stacks.fetch_sub(1, std::memory_order_relaxed);
      stack_prepare_reuse(g->stk);
      s.pool.put(&g->stk, 1);
      g->stk = stack{};
#ifdef GORO_TSAN
      __tsan_destroy_fiber(g->tsan_fiber);
      g->tsan_fiber = nullptr;
#endif
      g->state.store(g_state::dead, std::memory_order_relaxed);
      s.global_live.fetch_sub(1, std::memory_order_relaxed);
      g->id.store(0, std::memory_order_relaxed);
      record_put(nullptr, g);
      break;
    case post_action::yield:
    case post_action::move:
    case post_action::requeue:
      g->state.store(g_state::runnable, std::memory_order_relaxed);
      push_global(g);
      break;
    case post_action::none:
      break;
  }
}

// Runs on whatever got control after a goroutine switched away (g0 or the next goroutine, on
// another stack): carries out what that goroutine asked for. Its context is saved by now, so
// this is where a parked goroutine's lock is released.
void finish_previous(machine* m) {
  post_action a = m->action;
  if (a == post_action::none) return;
  m->action = post_action::none;
  goroutine* g = m->prev;
  GORO_DCHECK(g->state.load(std::memory_order_relaxed) == g_state::running);
  if (a == post_action::requeue) {
    // Back from blocking() without a worker (ours was taken): anyone's to run.
    g->state.store(g_state::runnable, std::memory_order_relaxed);
    push_global(g);
    return;
  }
  worker* w = m->p;
  if (!w) {
    finish_detached(a, g, m);
    return;
  }
  if (a == post_action::exit) {
    if (g->switched_out)
      w->quick_exits = 0;
    else if (w->quick_exits < kQuickExits)
      w->quick_exits++;
  } else if (!g->switched_out) {
    g->switched_out = true;
    w->quick_exits = 0;
  }
  switch (a) {
    case post_action::park:
      g->state.store(g_state::waiting, std::memory_order_relaxed);
      if (g->counted_blocked) owner_add(w->blocked_delta, 1);
      // From here on, g may be woken. The lock g took is released here, on another stack than
      // the one that took it: the thread-safety analysis cannot follow that hand-off, and is
      // told of it at the call that parked g (park_releasing(), GORO_RELEASE).
      if (m->unlock_fn) m->unlock_fn(m->unlock_arg);
      break;
    case post_action::sleep:
      g->state.store(g_state::waiting, std::memory_order_relaxed);
      // A worker's own heap: its g0 (or the goroutine it switched to, which comes back
      // through a switch) checks the heaps before sleeping, so nobody needs waking.
      timer_add(m->sleep_timer, static_cast<int>(w->id));
      break;
    case post_action::yield:
      g->state.store(g_state::runnable, std::memory_order_relaxed);
      if (S().debug_migrate)
        push_elsewhere(g);
      else
        push_local(w, g);
      break;
    case post_action::move:
      g->state.store(g_state::runnable, std::memory_order_relaxed);
      S().moves.fetch_add(1, std::memory_order_relaxed);
      push_to(S().workers[m->move_target], g);
      w->moved_away = true;
      break;
    case post_action::exit:
      owner_add(w->stacks_delta, -1);
      w->stacks.give(S().pool, g->stk);
      g->stk = stack{};
#ifdef GORO_TSAN
      w->tsan_fibers.give(g->tsan_fiber);
      g->tsan_fiber = nullptr;
#endif
      g->state.store(g_state::dead, std::memory_order_relaxed);
      owner_add(w->live_delta, -1);
      g->id.store(0, std::memory_order_relaxed);
      record_put(&m->records, g);
      break;
    case post_action::none:
    case post_action::requeue:
      break;
  }
}

// The goroutine a parking/yielding/exiting goroutine may hand over to directly, skipping g0:
// this worker's runnext or local ring. Not every time: every 61st tick g0 looks at the global
// queue, and every 8th while timers are pending it looks at the timer heap.
goroutine* next_direct(worker* w) noexcept {
  sched_state& s = S();
  std::uint64_t tick = w->schedtick.load(std::memory_order_relaxed);
  if (tick % 61 == 0 || s.debug_migrate || w->inbox.size()) return nullptr;
  if ((tick & 7) == 0 && timers_next() != kNever) return nullptr;
  if (w->id >= s.procs.load(std::memory_order_relaxed)) return nullptr;
  return take_local(w);
}

[[noreturn]] GORO_NO_TSAN void goroutine_main(void* arg) {
  auto* g = static_cast<goroutine*>(arg);
  fiber_entered();
  machine* m = ts()->m;  // no switch before the goroutine's own code: still this thread's
  finish_previous(m);
  leave_runtime(m);  // our own code from here: the monitor may take the worker
  *errno_ptr() = 0;
  try {
    g->ops->run(g->closure);
  } catch (...) {
    fatal_panic_current_exception(g);
  }
  g->ops->destroy(g->closure);
  closure_free(g);
  if (g->locked_m) {  // still locked when it ends: the thread is free again (Go ends it)
    ts()->m->locked_g = nullptr;
    g->locked_m = nullptr;
    g->lock_depth = 0;
  }
  switch_out(post_action::exit);
  __builtin_unreachable();
}

}  // namespace

void execute(machine* m, goroutine* g) {
  prepare_run(m, m->p, g);
  fiber_switch(&m->g0.sp, fiber_of(g), false);
  ts()->g = nullptr;
  m->cur = nullptr;
  finish_previous(m);
}

GORO_NO_TSAN void switch_out(post_action a) {
  thread_state* t = ts();
  machine* m = t->m;
  goroutine* g = t->g;
  GORO_DCHECK(m && g && m->cur == g && m->action == post_action::none);
  // Into the runtime until g runs again (busy is cleared where it resumes): from here the
  // monitor cannot take the worker, and a request it made is settled now (hold.cpp).
  enter_runtime(t);
  g->saved_errno = *m->errno_addr;
  g->eh = *m->eh_addr;
  *m->eh_addr = eh_state{};
  m->action = a;
  m->prev = g;
  goroutine* next = m->p && !m->locked_g ? next_direct(m->p) : nullptr;
  if (next && next->locked_m && next->locked_m != m) {
    // Locked to another thread: g0 hands it over there (machine_main()).
    m->handoff = next;
    next = nullptr;
  }
  if (next && !next->stk && a == post_action::park && m->unlock_fn) {
    // A goroutine's first run maps or takes a stack and touches its first page (a page fault,
    // microseconds on a VM): not while this goroutine's lock (a channel's, say) is still held,
    // which made every other worker spin on it. g0 releases the lock, then runs `next`.
    m->handoff = next;
    next = nullptr;
  }
  const bool ending = a == post_action::exit;
  if (next) {
    prepare_run(m, m->p, next);
    fiber_switch(&g->sp, fiber_of(next), ending);
  } else {
    fiber_switch(&g->sp, m->g0, ending);
  }
  // Resumed, maybe on another thread: recompute everything thread-related.
  m = ts()->m;
  finish_previous(m);
  *m->errno_addr = g->saved_errno;
  *m->eh_addr = g->eh;
  leave_runtime(m);  // back to g's own code
}

// A goroutine that meets another worker's goroutines on its channel locks this often in one
// run moves to that worker.
constexpr unsigned kMoveAfterContentions = 16;

namespace {

// Whether the calling goroutine should move to worker `target` (see note_lock_contention).
bool should_move(thread_state* t, unsigned target) noexcept {
  worker_hold hold(t);
  worker* w = hold.w;
  // Only towards a lower-numbered worker: two goroutines contending from both sides must not
  // swap places; everyone converges on the lowest worker involved.
  if (!w || !t->g || S().debug_migrate || target >= w->id) return false;
  std::uint64_t tick = w->schedtick.load(std::memory_order_relaxed);
  if (w->contention_tick != tick) {
    w->contention_tick = tick;
    w->contentions = 0;
  }
  if (++w->contentions < kMoveAfterContentions) return false;
  w->contentions = 0;
  return true;
}

}  // namespace

void note_lock_contention(int rival_slot) noexcept {
  thread_state* t = ts();
  const auto target = static_cast<unsigned>(rival_slot - 1);
  if (!should_move(t, target)) return;
  t->m->move_target = target;
  switch_out(post_action::move);
}

}  // namespace goro::detail
