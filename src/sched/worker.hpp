// src/sched: the state of the scheduler and of each worker, and the functions its files share.
// Private to src/sched (the layers above use sched.hpp).
//
// Words (Go's on the right; docs/design.md has the full glossary):
//   worker   P: a processor, with its run queue, caches and timer heap; at most one thread
//            holds it at a time, and only its holder runs goroutines on it
//   machine  M: an OS thread of the runtime; runs goroutines from its g0 while it holds a worker
//   g0       a machine's own stack, where find_runnable() runs between goroutines
//   idle     a worker parked (with the machine holding it) on its park_word, in the idle list
//   dormant  a worker whose id is >= procs (max_procs was lowered): parked, in no list
//   spinning a worker looking for work to steal (at most half the busy ones; Go's spinning M)
//   watching an idle worker sleeping briefly to see whether a busy one keeps its queue
//   syscall  a worker whose holder runs a goroutine inside goro::blocking(); the monitor may
//            take it and hand it to a spare machine (blocking.cpp, monitor.cpp)
//   spare    a machine that holds no worker, parked on its own park_word until handed one
//
// Ownership of a worker's fields: "owner" fields are read and written only by the thread that
// holds the worker (counters read by others are atomics written with a plain load + store,
// owner_add()); a worker changes hands only through a release/acquire pair (the hold
// protocol's busy word, or a spare's park word), so the next holder sees everything the last one
// wrote. "any" fields are atomics anyone may touch as their comment says; "idle_lock" fields are
// guarded by idle_lock and "spare_lock" ones by spare_lock (GORO_GUARDED_BY, for clang's
// thread-safety analysis). Lock order: idle_lock, then the global queue's lock, then an inbox's
// lock; spare_lock is never held with another.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <goro/source_location.hpp>

#include "base/limits.hpp"
#include "base/locks.hpp"
#include "fiber/fiber.hpp"
#include "fiber/switch.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/detail/thread_annotations.hpp"
#include "goroutine/goroutine.hpp"
#include "sched/runq.hpp"
#include "sched/sched.hpp"
#include "timer/timers.hpp"

namespace goro::detail {

// What a goroutine that switches away asks of whatever runs next (see finish_previous()).
// requeue: back from blocking() without a worker, the goroutine goes to the global queue.
enum class post_action : std::uint8_t { none, park, sleep, yield, move, exit, requeue };

// Guards the idle list: sched_state::idle_head and each worker's idle and idle_next. At
// namespace scope rather than in sched_state so that every function names it the same way:
// the thread-safety analysis tells locks apart by the expression that names them, and would
// take s.idle_lock and S().idle_lock for two. Trivially destructible, so it outlives exit()
// like sched_state.
inline constinit spinlock idle_lock;

// After this many goroutines in a row ended in their first run on a worker, spawning there no
// longer wakes an idle worker, and that worker, out of work, watches before stealing.
constexpr unsigned kQuickExits = 64;

struct worker {
  unsigned id = 0;  // fixed at creation
  run_queue q;      // owner pushes and pops; thieves steal (see runq.hpp)
  // any: only the owner fills it (a plain store into an empty slot, else exchange); the owner
  // and thieves empty it with an exchange or CAS.
  std::atomic<goroutine*> runnext{nullptr};
  locked_queue inbox;  // any (under its lock): forced migration hands goroutines over here
  // any: set to 1 (release) by whoever wakes this worker, reset by the owner after waking.
  alignas(64) std::atomic<std::uint32_t> park_word{0};
  // Written by the owner, and by wakep() while the worker is off the idle list and parked
  // (it hands over the spinning token); read by the owner.
  std::atomic<bool> spinning{false};
  bool idle GORO_GUARDED_BY(idle_lock) = false;  // in the idle list
  worker* idle_next GORO_GUARDED_BY(idle_lock) = nullptr;
  std::atomic<std::uint64_t> schedtick{0};     // owner writes (goroutines run); others read
  std::atomic<std::int64_t> live_delta{0};     // owner writes: goroutines started minus ended here
  std::atomic<std::int64_t> stacks_delta{0};   // owner writes: stacks taken minus returned here
  std::atomic<std::int64_t> blocked_delta{0};  // owner writes: goroutines parked minus woken here
  stack_cache stacks;                          // owner
  tsan_fiber_cache tsan_fibers;                // owner
  // Owner: note_lock_contention()'s count of contended channel operations in the current
  // goroutine's run, and where it moves.
  std::uint64_t contention_tick = 0;
  unsigned contentions = 0;
  bool moved_away = false;  // a goroutine just left for move_target: do not steal it back
  // Owner: goroutines that ended here in their first run, in a row (capped at kQuickExits); a
  // goroutine switching out for the first time here resets it. See launch().
  unsigned quick_exits = 0;
  // Owner: the clock as last read on a timer check or a wake from idle (never read just for
  // this), for "blocked since" in dumps; only ever late, by as long as the worker has been
  // busy without either.
  std::int64_t coarse_now = 0;

  unsigned runnext_streak = 0;  // owner

  // Owner: stealing and watching.
  std::uint64_t rng = 0;
  std::int64_t watch_ns = 0;     // how long the next watch sleep lasts (adapts; see steal.cpp)
  std::uint64_t moves_seen = 0;  // sched_state::moves when this worker last stole as a watcher

  // True while the holder runs a goroutine inside blocking() (blocking.cpp): written by the
  // holder inside a hold (busy = 1), and cleared by whoever holds the worker after the call,
  // the holder on return or the monitor that took it. The monitor reads it only to choose
  // what to look at; who holds the worker is decided by the hold protocol (hold.cpp).
  std::atomic<bool> in_syscall{false};
  // Incremented by the holder on each entry to blocking(); the monitor takes the worker only
  // from a call it has seen twice (Go's syscalltick), i.e. one that lasted a monitor period.
  std::atomic<std::uint64_t> syscall_tick{0};
  // The machine holding the worker. Written when the worker changes hands (start_machine(),
  // by the thread that gave it up or took it); read by the monitor, which is the only one to
  // take a worker from its holder (hold.cpp), so its own read is never stale.
  std::atomic<machine*> holder{nullptr};
  std::uint64_t seen_syscall_tick = 0;  // monitor thread only
  std::uint64_t seen_schedtick = 0;     // monitor thread only
  machine* seen_holder = nullptr;       // monitor thread only
  std::int64_t seen_since = 0;          // monitor thread only: when it saw those ticks first
};

// A thread of the runtime (Go's M). Its fields are its own thread's, except park_word (any),
// worker (see below) and spare_next (spare_lock).
struct machine {
  // The worker this machine holds, or null: a spare, or a thread inside blocking() whose
  // worker was taken. Written by the machine itself, or by whoever hands a spare a worker
  // before waking it (the wake's release/acquire publishes it).
  worker* p = nullptr;
  // g0's context, and the request a goroutine leaves for whatever runs next.
  fiber_ref g0{};                // g0's saved stack pointer and sanitizer identity
  goroutine* cur = nullptr;      // the goroutine running here, null on g0
  goroutine* prev = nullptr;     // the goroutine that last switched away, for finish_previous()
  goroutine* handoff = nullptr;  // for g0 to run next, taken off the queues by switch_out()
  post_action action = post_action::none;
  void (*unlock_fn)(void*) = nullptr;
  void* unlock_arg = nullptr;
  rtimer* sleep_timer = nullptr;
  unsigned move_target = 0;     // post_action::move: where the previous goroutine goes
  int* errno_addr = nullptr;    // this thread's errno and exception globals, found once
  eh_state* eh_addr = nullptr;  // (a machine never changes threads; goroutines do)
  // any: set to 1 (release) by whoever hands this spare a worker, reset by the machine.
  alignas(64) std::atomic<std::uint32_t> park_word{0};
  machine* spare_next = nullptr;  // spare_lock
  // The hold protocol (hold.cpp): busy is written by this machine only, 1 while it may touch
  // its worker (on g0, inside the runtime), 0 while a goroutine runs its own code or sits in
  // blocking(); claim is the monitor's request for the worker (kClaimAsked) and its grant
  // (kClaimTaken, kClaimTakenCall), which this machine cancels (back to 0) if it sees the
  // request first.
  std::atomic<std::uint32_t> busy{1};
  std::atomic<std::uint32_t> claim{0};
  bool detached = false;    // runs a goroutine whose worker the monitor took (until its g0)
  bool handed_off = false;  // gave its worker away entering blocking() (until the call returns)
  // Caches of goroutine ids and dead records: the machine's, not its worker's, so that go()
  // needs no hold for them (its thread alone touches them, with or without a worker).
  id_cache ids;
  record_cache records;  // handed to the shared list when the machine ends
  // The goroutine locked to this machine (lock_os_thread), or null: while it is set the machine
  // runs no other goroutine; while it waits, the machine parks on park_word off the spare list
  // until a holder that found it runnable hands over its worker with it (run_locked()).
  goroutine* locked_g = nullptr;
  // run_locked()'s mailbox: written by the hander before its release of park_word, read by
  // this machine only after its acquire of it (wait_for_locked()).
  worker* lent_p = nullptr;
  goroutine* lent_g = nullptr;
};

inline constexpr std::uint32_t kClaimAsked = 1;
inline constexpr std::uint32_t kClaimTaken = 2;  // from a running goroutine: it goes on detached
inline constexpr std::uint32_t kClaimTakenCall =
    3;  // from a call in blocking(): it queues on return

struct sched_state {
  // workers[i] exists for every i < nworkers before any thread starts (start_workers()).
  worker* workers[kMaxWorkers] = {};
  std::atomic<unsigned> nworkers{0};  // threads started; written under start_mutex
  std::atomic<unsigned> procs{0};     // workers allowed to run goroutines; under start_mutex
  locked_queue global;
  worker* idle_head GORO_GUARDED_BY(idle_lock) = nullptr;
  // seq_cst, every access: the idle/spinning handshake (wakep() against find_runnable()).
  std::atomic<int> npidle{0};           // workers in the idle list
  std::atomic<int> nspinning{0};        // spinning tokens handed out
  std::atomic<int> nwatching{0};        // idle workers in a watch sleep
  std::atomic<std::uint64_t> moves{0};  // goroutines moved to share a busy channel, ever
  // The idle worker blocked in epoll_wait (netpoll), or null; at most one at a time (find.cpp).
  // seq_cst, every access: with park_word, Dekker's pattern between that worker and
  // wake_worker() (it publishes itself here and then reads park_word; a waker stores park_word
  // and then reads this, and breaks the poll if it names the worker it wakes).
  std::atomic<worker*> poll_blocker{nullptr};

  std::atomic<bool> started{false};  // set once, under start_mutex, after the first start
  os_mutex start_mutex;
  std::atomic<bool> run_active{false};  // run() in progress (arms the deadlock detector)
  bool debug_migrate = false;           // GORO_DEBUG_MIGRATE, fixed before the workers start
  stack_pool pool;

  // Machines: the spares (parked, holding no worker), and every thread the runtime runs.
  spinlock spare_lock;
  machine* spare_head GORO_GUARDED_BY(spare_lock) = nullptr;
  int nspare GORO_GUARDED_BY(spare_lock) = 0;
  std::atomic<int> nthreads{0};  // machines alive, plus the monitor; relaxed (a count)
  // Calls inside blocking() whose worker the monitor took and that have not returned yet.
  // Relaxed: it only sizes the spare pool.
  std::atomic<int> nlent{0};
  std::atomic<int> threads_made{0};  // machines ever started, for max_threads
  int max_threads = 0;               // fixed before the first thread starts
  // Machines running a goroutine without a worker (taken by the monitor from a goroutine that
  // ran too long), and their cap: the monitor takes no more workers past it.
  std::atomic<int> ndetached{0};
  int max_detached = 0;  // fixed when the runtime starts
  // The hold protocol's barrier works here (hold.cpp). Without it the monitor never takes a
  // running goroutine's worker, and takes a call's with a fence on both sides instead.
  bool may_take_running = false;

  // Non-workers' counters (see worker::live_delta): RMWs, relaxed (only sums are read, and
  // only trusted when every worker is idle).
  std::atomic<std::int64_t> global_live{0};
  std::atomic<std::int64_t> global_blocked{0};
  std::atomic<std::int64_t> global_stacks{0};  // stacks returned by detached machines (negative)
  std::atomic<int> threads_blocked{0};         // plain threads parked inside goro calls
  std::atomic<std::uint64_t> thread_wakes{0};
  // Threads the sanitizer runtime starts behind our back: written once under start_mutex, on
  // the first start, before run() sets run_active; the deadlock detector reads it only after
  // seeing run_active (acquire), so without the lock (hence no GORO_GUARDED_BY).
  int extra_threads = 0;
};

inline sched_state& S() {
  static sched_state* s = new sched_state;  // never destroyed: workers outlive exit()
  return *s;
}

// 1 + the index of the worker this thread is (see goro/detail/core.hpp).
extern constinit thread_local int tls_worker_slot;

// The sum of one per-worker counter over every started worker.
std::int64_t sum_over_workers(std::atomic<std::int64_t> worker::*counter) noexcept;

// Whether v has goroutines waiting to run: in its ring, its runnext or its inbox.
inline bool has_queued(const worker* v) noexcept {
  return v->q.size() || v->runnext.load(std::memory_order_relaxed) || v->inbox.size();
}

// ---- Holding a worker from a goroutine (hold.cpp) ---------------------------------------------

// The memory order of the hold protocol's machine side: a compiler barrier suffices, because
// the monitor makes every thread of the process run a full barrier (membarrier) between its
// request and its look at `busy`. TSan does not model membarrier: there both sides are seq_cst.
#ifdef GORO_TSAN
inline constexpr std::memory_order kHoldOrder = std::memory_order_seq_cst;
#else
inline constexpr std::memory_order kHoldOrder = std::memory_order_relaxed;
#endif

// The machine's side of the hold protocol's decision: cancels a request the monitor left on m
// (claim kClaimAsked -> 0), given c, claim as the caller last read it. Returns the claim that
// stands: 0 (there was none, or the cancel won), or the grant the monitor's CAS made first.
// The one place a machine cancels (blocking_exit, resolve_claim, drop_claim, machine_main).
inline std::uint32_t cancel_claim(machine* m, std::uint32_t c) noexcept {
  // acq_rel: the CAS that decides against the monitor's (claim_worker); on failure, acquire
  // pairs with that CAS, so what the monitor did before its grant is visible.
  if (c == kClaimAsked &&
      m->claim.compare_exchange_strong(c, 0, std::memory_order_acq_rel, std::memory_order_acquire))
    return 0;
  return c;
}

// The monitor asked for or took our worker: cancels a request, or lets the worker go (the
// caller then has none).
worker* resolve_claim(thread_state* t) noexcept;

// A goroutine's hold on its machine's worker, for the runtime calls that touch it without
// switching (ready, go, ...): `w` is the worker, or null when the caller has none (a plain
// thread, inside blocking(), or the monitor took it), and the caller then acts as a plain
// thread does. While held, the monitor cannot take the worker. Nested holds (on g0, or inside
// a switch) cost one load.
class worker_hold {
 public:
  explicit worker_hold(thread_state* t) noexcept {
    machine* m = t->m;
    w = t->w;
    if (!m || !w || m->busy.load(std::memory_order_relaxed)) return;
    m->busy.store(1, kHoldOrder);
    std::atomic_signal_fence(std::memory_order_seq_cst);  // see kHoldOrder
    held_ = m;
    if (m->claim.load(kHoldOrder) != 0) [[unlikely]]
      w = resolve_claim(t);
  }
  ~worker_hold() {
    // release: pairs with the monitor's acquire load of busy; what we wrote to the worker is
    // visible to whoever it hands the worker to.
    if (held_) held_->busy.store(0, std::memory_order_release);
  }
  worker_hold(const worker_hold&) = delete;
  worker_hold& operator=(const worker_hold&) = delete;
  worker* w;

 private:
  machine* held_ = nullptr;  // the machine whose busy this hold set (a machine never moves)
};

// Entering the runtime to switch away (switch_out): like worker_hold, but the hold lasts until
// the goroutine runs again, where leave_runtime() ends it (also at a goroutine's first run).
// Inline, but never inlined under TSan: there switch_out() and goroutine_main(), which call
// these, are not instrumented (GORO_NO_TSAN), and TSan must see these atomics to see the
// hand-off they order.
#ifdef GORO_TSAN
#define GORO_HOLD_INLINE __attribute__((noinline))
#else
#define GORO_HOLD_INLINE
#endif
inline GORO_HOLD_INLINE void enter_runtime(thread_state* t) noexcept {
  machine* m = t->m;
  if (m->busy.load(std::memory_order_relaxed)) return;
  m->busy.store(1, kHoldOrder);
  std::atomic_signal_fence(std::memory_order_seq_cst);  // see kHoldOrder
  if (m->claim.load(kHoldOrder) != 0) [[unlikely]]
    resolve_claim(t);
}
inline GORO_HOLD_INLINE void leave_runtime(machine* m) noexcept {
  // release: pairs with the monitor's acquire load of busy; what we wrote to the worker is
  // visible to whoever it hands the worker to.
  m->busy.store(0, std::memory_order_release);
}

// The monitor's side: registers for the barrier (false: the kernel lacks it, and the monitor
// never takes a worker from a running goroutine), and runs it.
bool hold_barrier_init() noexcept;
void hold_barrier() noexcept;

// ---- Waking and idling (wake.cpp) ------------------------------------------------------------

void wake_worker(worker* w) noexcept;
// idle_lock held; false if w was not listed.
bool idle_remove_locked(worker* w) noexcept GORO_REQUIRES(idle_lock);
worker* pop_idle_locked() noexcept GORO_REQUIRES(idle_lock);  // idle_lock held
// Takes the lock and w off the idle list; whether w was on it (the caller then wakes it).
bool take_off_idle_list(worker* w) noexcept GORO_EXCLUDES(idle_lock);
void wakep_slow() noexcept;
void wake_any_idle() noexcept;
void push_global(goroutine* g) noexcept;
std::uint32_t spill_half(worker* w, goroutine* g) noexcept;  // the ring is full; see push_local
// Queues g on worker v (through its inbox) and wakes v if it is idle.
void push_to(worker* v, goroutine* g) noexcept;
// Forced migration: queues g on a worker other than the one it last ran on.
void push_elsewhere(goroutine* g) noexcept;

// Wakes one idle worker and hands it the spinning token (Go's wakep): at most one spinning
// worker is woken per submission, never a broadcast. The common case (nobody idle, or someone
// spinning already) costs two loads.
inline void wakep() noexcept {
  sched_state& s = S();
  // seq_cst: pairs with the seq_cst updates in find_runnable(); either we see the idle worker
  // or it sees the work we just queued before it sleeps.
  if (s.npidle.load(std::memory_order_seq_cst) == 0) return;
  if (s.nspinning.load(std::memory_order_seq_cst) != 0) return;
  wakep_slow();
}

// Makes sure an idle worker watches the busy ones (see steal.cpp) after something was queued
// without a wakep().
inline void ensure_watcher() noexcept {
  sched_state& s = S();
  if (s.procs.load(std::memory_order_relaxed) < 2) return;  // nobody to watch
  // RMWs, not loads: they order our queue push before them. A watcher that stops watching
  // after this (its decrement comes later in nwatching's order, and reads what we wrote) sees
  // the push when it looks for a backlog again; so does a worker going idle after this (its
  // npidle increment comes later). nwatching first: while some worker watches (the common
  // case when a worker keeps its goroutines to itself), that one RMW is all it costs.
  if (s.nwatching.fetch_add(0, std::memory_order_seq_cst) != 0) return;
  if (s.npidle.fetch_add(0, std::memory_order_seq_cst) == 0) return;
  if (s.nspinning.load(std::memory_order_seq_cst) != 0) return;
  wake_any_idle();
}

// Owner: queues g locally, spilling half the ring to the global queue when it is full. Returns
// true when it spilled.
inline bool push_local(worker* w, goroutine* g) noexcept {
  if (w->q.push(g)) [[likely]]
    return false;
  spill_half(w, g);
  return true;
}

// Wakes the waiters netpoll() returned (find.cpp, monitor.cpp): goroutines through ready(),
// plain threads through unpark().
void deliver_polled(parker* const* ps, int n) noexcept;

// ---- Switching (switch.cpp) --------------------------------------------------------------------

// In a goroutine: switches away with request `a`, to the next local goroutine if there is one,
// else to g0. Returns when this goroutine is resumed, possibly on another worker.
void switch_out(post_action a);
// On g0 of m, which holds a worker: runs g until control comes back to g0, then finishes what
// the last goroutine asked.
void execute(machine* m, goroutine* g);

// Next runnable goroutine in w's own queues (owner): runnext first (a woken partner inherits
// the time slice, keeping a ping-pong pair on one core), but after kRunnextStreak runnext picks
// in a row the ring goes first, so a pair that keeps waking each other cannot starve the rest.
constexpr unsigned kRunnextStreak = 32;
inline goroutine* take_local(worker* w) noexcept {
  goroutine* g;
  if (w->runnext_streak >= kRunnextStreak) {
    w->runnext_streak = 0;
    if ((g = w->q.pop())) return g;
  }
  g = w->runnext.load(std::memory_order_relaxed);
  // acq_rel: pairs with the release that filled runnext (ready(), launch()).
  if (g && (g = w->runnext.exchange(nullptr, std::memory_order_acq_rel))) {
    w->runnext_streak++;
    return g;
  }
  w->runnext_streak = 0;
  return w->q.pop();
}

// ---- Finding work (find.cpp, steal.cpp, deadlock.cpp) ----------------------------------------

// On g0: the next goroutine for w to run; sleeps while there is none. Never returns null.
goroutine* find_runnable(worker* w);

goroutine* take_global(worker* w) noexcept;
void reset_spinning(worker* w) noexcept;
goroutine* steal(worker* w) noexcept;  // as a spinning worker: half of a busy worker's ring

// Watching (steal.cpp): an idle worker that sees other workers' queues sleeps briefly, then
// steals only from those that ran few, long goroutines meanwhile.
struct watch {
  std::uint64_t ticks_before[kMaxWorkers];
  std::int64_t since = 0;  // non-zero: we slept watching since then; ticks_before is the snapshot
};
bool backlog_elsewhere(const worker* w) noexcept;
void watch_begin(watch& wt) noexcept;                 // takes the snapshot
goroutine* watch_end(worker* w, watch& wt) noexcept;  // steals from a slow worker, adapts watch_ns
std::int64_t watch_period(worker* w) noexcept;        // how long the next watch sleep lasts
// Whether any goroutine is queued globally or in a ring (a cheap look, for a last spinner).
bool work_visible() noexcept;

// idle_lock held: whether every worker is idle and every run queue (rings, runnext, inboxes,
// the global queue) is empty, a cut of the scheduler at that instant (deadlock.cpp).
bool all_idle_and_queues_empty_locked() noexcept GORO_REQUIRES(idle_lock);
// The same under its own lock hold: no goroutine runs on a worker or waits in a queue for one.
// A goroutine that a plain thread or a timer makes runnable right after is not seen; nor is
// one still running on a worker that a lowered max_procs is retiring (the leak check, which
// passes this to diag, reads the goroutine records for that).
bool no_goroutine_runnable() noexcept GORO_EXCLUDES(idle_lock);

// The deadlock detector (deadlock.cpp), run by idle workers.
class deadlock_detector {
 public:
  // Called by an idle worker about to sleep until `deadline`: reports the deadlock if the
  // program has been stuck since the last call (and does not return then), else returns the
  // deadline to sleep until, shortened so that the check runs again soon enough.
  std::int64_t check(std::int64_t deadline);

 private:
  struct signature {
    std::uint64_t ticks = 0;
    std::uint64_t thread_wakes = 0;
    std::int64_t live = 0;
    bool operator==(const signature&) const = default;
  };
  static bool suspected_locked(signature* sig) noexcept GORO_REQUIRES(idle_lock);
  bool suspected_ = false;
  signature last_{};
};

// ---- Lifecycle (lifecycle.cpp) ---------------------------------------------------------------

void start_workers(unsigned n) GORO_REQUIRES(S().start_mutex);
int count_process_threads() noexcept;
// Hands w (claimed by the caller, who no longer touches it) to a spare machine, or to a new
// thread; past max_threads, ends the program as Go does ("thread exhaustion").
void start_machine(worker* w) noexcept;
// lock_os_thread(): g, found runnable by m (which holds w), is locked to another machine: hands
// w and g over to it and wakes it; m then holds no worker.
void run_locked(machine* m, worker* w, goroutine* g) noexcept;
// m holds no worker and its locked goroutine is away: waits until run_locked() hands it back.
void wait_for_locked(machine* m) noexcept;
// m holds no worker: parks it as a spare until handed one (true), or, if there are spares
// enough already, frees m and returns false: its thread must then end by returning from its
// start function, never touching m again.
bool spare_park(machine* m);

// ---- The monitor (monitor.cpp) -----------------------------------------------------------------

void monitor_start();  // once, when the runtime starts

}  // namespace goro::detail
