// src/sched: layer 5, the M:N scheduler: workers, run queues, switching, parking and waking
// (the waiting layer's engine), stealing, the deadlock detector, and the runtime's lifecycle.
// This header is what the layers above (chan, sync, time) and the public entry points use;
// the scheduler's own files share worker.hpp.
//
// Files: runq.hpp (run queues), worker.hpp (worker and scheduler state), switch.cpp
// (switching, a goroutine's life on a worker), wake.cpp (waking and idling), park.cpp
// (parking: park/unpark/ready/sleep), find.cpp (finding work), steal.cpp (stealing and
// watching), deadlock.cpp (the detector), lifecycle.cpp (threads and options), spawn.cpp
// (go() and run()), api.cpp (the public entry points of goro/runtime.hpp).
#pragma once

#include <cstdint>
#include <goro/source_location.hpp>

#include "goro/detail/core.hpp"
#include "goroutine/goroutine.hpp"
#include "timer/timers.hpp"

namespace goro::detail {

int current_worker_id() noexcept;  // -1 off the workers

// Makes g runnable (from waiting). `next`: run it before the waker's other queued goroutines.
void ready(goroutine* g, bool next) noexcept;

// The caller (a goroutine) parks; on its worker, after its context is saved, unlock(arg) runs.
void park_g(void (*unlock)(void*), void* arg, wait_reason why, const goro::source_location& where);
// The caller (a goroutine) parks until `until` (steady ns; kNever: for ever).
void sleep_g(std::int64_t until, const goro::source_location& where);

// Adds t to the caller's worker's timer heap (or the plain threads' one) and, if that makes it
// the earliest timer of a heap nobody running checks, wakes an idle worker to sleep until it.
void start_timer(rtimer* t);

// A plain thread is about to park on I/O (src/io): unless a worker blocks in epoll_wait
// already, wakes an idle one, which blocks there when it finds nothing else to do. (A
// goroutine's own worker polls when it runs out of work, and the monitor after 10 ms.)
void poll_wake_idle() noexcept;

// Starts the runtime on first use (opts: null, or run()'s options, which may resize it).
void ensure_started(const options* opts);

// Goroutines started and not yet ended, summed over workers (exact only while all are idle).
std::int64_t live_goroutines() noexcept;

// For src/os (deadlock.cpp): what the deadlock detector must know of wakers outside the
// goroutines.
// A thread of the runtime's own that is not a worker and never parks in a goro call (the
// os::notify relay): counted among the threads the detector expects, so that its existence
// vetoes nothing. Called once per such thread, after it was created.
void deadlock_count_service_thread() noexcept;
// While the sum of the deltas is positive, something outside the goroutines may still wake one
// (a channel registered with os::notify), and the detector reports nothing: in Go, the
// signal-handling goroutine, waiting in a system call, keeps checkdead quiet.
void deadlock_external_wakers(int delta) noexcept;

}  // namespace goro::detail
