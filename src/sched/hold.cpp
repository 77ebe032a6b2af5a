// The hold protocol: how the monitor takes a worker from a goroutine that has run too long,
// although that goroutine's thread may touch the worker at any moment (a channel operation
// readying someone, a go()) and is never interrupted.
//
// The machine side, on every entry to the runtime from a goroutine's own code (worker_hold,
// switch_out): store busy = 1, then read claim. On leaving: busy = 0 (release). Both with a
// compiler barrier only (kHoldOrder), so a hold costs two plain stores and a load.
// The monitor side (monitor.cpp, take_running): store claim = kClaimAsked, run a process-wide
// barrier (membarrier: every thread of the process executes a full fence), then read busy.
// This is Dekker's pattern with the expensive fence on the rare side: after the barrier,
// either the monitor sees busy = 1 (the machine is in the runtime and may be using the worker:
// the monitor leaves its request, and the machine cancels it at its next entry), or the
// machine's next read of claim sees the request. Then one CAS decides: the monitor's
// kClaimAsked -> kClaimTaken (it holds the worker and hands it to another machine), or the
// machine's kClaimAsked -> 0 (it keeps the worker). A machine that finds kClaimTaken lets the
// worker go without touching it and runs its goroutine on as a detached thread until the
// goroutine next switches away (then the thread becomes a spare).
// On g0 busy is always 1 (set by the switch that got there), so an idle or scheduling worker
// is never taken this way. A call inside blocking() is such a stretch of the goroutine's own
// code too, which the monitor may take after 20 µs instead of 10 ms (kClaimTakenCall;
// blocking.cpp settles it on return).
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/check.hpp"
#include "sched/worker.hpp"

namespace goro::detail {

worker* resolve_claim(thread_state* t) noexcept {
  machine* m = t->m;
  // Our caller saw a claim: a request most likely, so the CAS goes first, without a load.
  const std::uint32_t c = cancel_claim(m, kClaimAsked);
  if (c == 0) return t->w;  // cancelled: we keep the worker
  // kClaimTakenCall is granted only while the machine sits in blocking(), whose return
  // settles it (blocking.cpp), never here.
  GORO_DCHECK(c != kClaimTakenCall);
  if (c != kClaimTaken) return t->w;
  // The monitor took the worker while we ran our own code, and has handed it on.
  m->claim.store(0, std::memory_order_relaxed);
  m->p = nullptr;
  t->w = nullptr;
  tls_worker_slot = 0;
  m->detached = true;
  return nullptr;
}

bool hold_barrier_init() noexcept {
#ifdef GORO_TSAN
  return true;  // seq_cst on both sides instead (kHoldOrder)
#else
  return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#endif
}

void hold_barrier() noexcept {
#ifndef GORO_TSAN
  if (S().may_take_running)
    syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
  else
    std::atomic_thread_fence(std::memory_order_seq_cst);  // blocking_exit() fences too
#endif
}

}  // namespace goro::detail
