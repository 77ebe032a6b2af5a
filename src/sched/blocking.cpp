// goro::blocking(): a goroutine's call into the OS, during which its worker may change hands.
//
// The protocol (Go's entersyscall/exitsyscall, without the fast path's P reacquisition races):
//  - On entry the holder marks its goroutine `syscall`, makes its thread look like a plain one
//    (ts()->g and ts()->w null, so goro calls inside the call block the thread), bumps the
//    worker's syscall_tick and sets kInSyscall in its status (release). From then on the
//    thread does not touch the worker.
//  - Whoever clears kInSyscall from that exact status with a CAS (acquire) holds the worker: the
//  thread itself on return (the common case: nothing changed hands), or the
//    monitor, which then hands it to a spare machine (monitor.cpp). Exactly one CAS succeeds,
//    so the worker never has two holders and never none.
//  - A thread whose CAS fails comes back without a worker: it queues its goroutine globally
//    (post_action::requeue, carried out on its g0 once the goroutine's context is saved) and
//    parks as a spare. The goroutine is runnable in exactly one queue, so it runs once, on
//    whichever worker takes it.
#include "base/check.hpp"
#include "goro/runtime.hpp"
#include "sched/worker.hpp"

namespace goro::detail {

goroutine* blocking_enter(const goro::source_location& where) noexcept {
  thread_state* t = ts();
  goroutine* g = t->g;
  if (!g) return nullptr;  // a plain thread, or already inside blocking(): just call
  worker_hold hold(t);
  worker* w = hold.w;
  g->blocked_file.store(where.file_name(), std::memory_order_relaxed);
  g->blocked_line.store(where.line(), std::memory_order_relaxed);
  g->blocked_since.store(w ? w->coarse_now : 0, std::memory_order_relaxed);
  g->state.store(g_state::syscall, std::memory_order_relaxed);
  t->blocking_g = g;
  t->g = nullptr;
  if (!w) return g;  // detached (see hold.cpp): no worker to lend
  t->w = nullptr;
  tls_worker_slot = 0;
  owner_add(w->syscall_tick, 1);
  // release: pairs with the acquire CAS that claims the worker (blocking_exit() or the
  // monitor's); everything this holder wrote to it is visible to the next one.
  const std::uint64_t entered = w->status.load(std::memory_order_relaxed) | kInSyscall;
  t->m->syscall_status = entered;
  w->status.store(entered, std::memory_order_release);
  return g;
}

void blocking_exit(goroutine* g) noexcept {
  thread_state* t = ts();
  machine* m = t->m;
  worker* w = m->p;
  if (!w) {  // detached: it had no worker to get back
    t->g = g;
    t->blocking_g = nullptr;
    g->state.store(g_state::running, std::memory_order_relaxed);
    return;
  }
  std::uint64_t expected = m->syscall_status;
  // acquire: pairs with our own release on entry (nobody else held the worker meanwhile).
  const bool kept = w->status.compare_exchange_strong(
      expected, expected & ~kInSyscall, std::memory_order_acquire, std::memory_order_relaxed);
  t->g = g;
  t->blocking_g = nullptr;
  g->state.store(g_state::running, std::memory_order_relaxed);
  if (kept) [[likely]] {
    t->w = w;
    tls_worker_slot = static_cast<int>(w->id) + 1;
    // Forced migration: resume on another worker's thread, as if the worker had been taken.
    if (S().debug_migrate) switch_out(post_action::yield);
    return;
  }
  // The monitor took the worker and handed it on: this thread holds none now. The goroutine
  // queues for any worker, and this thread becomes a spare (or ends).
  m->p = nullptr;
  S().nlent.fetch_sub(1, std::memory_order_relaxed);
  switch_out(post_action::requeue);
}

}  // namespace goro::detail
