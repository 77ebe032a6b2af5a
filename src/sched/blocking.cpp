// goro::blocking(): a goroutine's call into the OS, during which its worker may change hands.
//
// The protocol (Go's entersyscall/exitsyscall) is the hold protocol of hold.cpp, with the call
// as the stretch of the goroutine's own code the monitor may take the worker during:
//  - On entry, inside a hold (busy = 1), the holder marks its goroutine `syscall`, makes its
//    thread look like a plain one (ts()->g and ts()->w null, so goro calls inside the call
//    block the thread), bumps the worker's syscall_tick and sets worker::in_syscall. Ending
//    the hold (busy = 0, release) publishes all it wrote; from then on the thread does not
//    touch the worker.
//  - The monitor takes the worker from a call it has seen twice (monitor.cpp, retake): claim =
//    kClaimAsked, a process-wide barrier, busy read as 0, then a CAS kClaimAsked ->
//    kClaimTakenCall; it clears in_syscall and hands the worker to a spare machine.
//  - On return the thread enters the runtime as any goroutine does (busy = 1, then read claim;
//    plain stores and a load, no read-modify-write): claim 0 means the worker is still its
//    own. A request still standing (kClaimAsked) is cancelled by a CAS that races the
//    monitor's; exactly one of the two succeeds, so the worker never has two holders and never
//    none.
//  - A goroutine whose last call lost its worker likely blocks again: if others wait for the
//    worker, its next call hands the worker to a spare machine at once, inside the entry's
//    hold, as Go's entersyscallblock does for calls it knows to block (the monitor would take
//    it one or two looks later anyway). A call that keeps its worker clears the mark.
//  - A thread whose worker was taken (or given) comes back without one: it queues its goroutine
//  globally
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
  if (g->call_lost && (has_queued(w) || S().global.size() != 0)) [[unlikely]] {
    machine* m = t->m;
    m->p = nullptr;
    m->handed_off = true;
    S().nlent.fetch_add(1, std::memory_order_relaxed);
    start_machine(w);  // w is the spare's now (its park word's release publishes it)
    return g;
  }
  owner_add(w->syscall_tick, 1);
  // relaxed: published by the end of the hold (busy = 0, release), which the monitor reads
  // (acquire) before it takes the worker.
  w->in_syscall.store(true, std::memory_order_relaxed);
  return g;
}

void blocking_exit(goroutine* g) noexcept {
  thread_state* t = ts();
  machine* m = t->m;
  worker* w = m->p;
  if (m->handed_off) [[unlikely]] {  // gave its worker away on entry: queue for one
    m->handed_off = false;
    t->g = g;
    t->blocking_g = nullptr;
    g->state.store(g_state::running, std::memory_order_relaxed);
    S().nlent.fetch_sub(1, std::memory_order_relaxed);
    switch_out(post_action::requeue);
    return;
  }
  if (!w) {  // detached: it had no worker to get back
    t->g = g;
    t->blocking_g = nullptr;
    g->state.store(g_state::running, std::memory_order_relaxed);
    return;
  }
  // Into the runtime (hold.cpp): busy = 1, then read claim. Busy is 1 already only if the call
  // began inside a hold (runtime code calling user code), which the monitor then never took.
  const bool set = m->busy.load(std::memory_order_relaxed) == 0;
  if (set) {
    m->busy.store(1, kHoldOrder);
    std::atomic_signal_fence(std::memory_order_seq_cst);  // see kHoldOrder
    // Without the kernel's barrier (hold_barrier_init() failed) each side fences itself.
    if (!S().may_take_running) [[unlikely]]
      std::atomic_thread_fence(std::memory_order_seq_cst);
  }
  const std::uint32_t c = cancel_claim(m, m->claim.load(kHoldOrder));
  t->g = g;
  t->blocking_g = nullptr;
  g->state.store(g_state::running, std::memory_order_relaxed);
  if (c == 0) [[likely]] {                                  // the worker is still ours
    w->in_syscall.store(false, std::memory_order_relaxed);  // ours alone to write again
    g->call_lost = false;
    t->w = w;
    tls_worker_slot = static_cast<int>(w->id) + 1;
    // release: pairs with the monitor's acquire load of busy, as any hold's end.
    if (set) m->busy.store(0, std::memory_order_release);
    // Forced migration: resume on another worker's thread, as if the worker had been taken.
    if (S().debug_migrate) switch_out(post_action::yield);
    return;
  }
  // The monitor took the worker and handed it on: this thread holds none now, and does not
  // touch it. The goroutine queues for any worker, and this thread becomes a spare (or ends).
  m->claim.store(0, std::memory_order_relaxed);
  m->p = nullptr;
  g->call_lost = true;
  if (c == kClaimTakenCall) {
    S().nlent.fetch_sub(1, std::memory_order_relaxed);
  } else {
    // kClaimTaken: taken as from a running goroutine, as the call began (the monitor's look
    // at in_syscall raced the entry); counted as detached until this thread's g0.
    m->detached = true;
  }
  switch_out(post_action::requeue);  // busy stays 1: switch_out's own hold is this one
}

}  // namespace goro::detail
