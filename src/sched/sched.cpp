// The M:N scheduler: workers, run queues, parking, waking, goroutine records.
//
// Invariants:
//  - A runnable goroutine is in exactly one place: a worker's runnext, its ring, its inbox, or
//    the global queue. Only the owner pushes to its ring and runnext (thieves CAS the ring's
//    head and never take runnext; see steal()). Inboxes and the global queue take a lock.
//  - A goroutine's context is saved before anyone can make it runnable again: park_g() only
//    releases the caller's lock on the worker's scheduler stack (g0), after the switch.
//  - Per-worker counters (live_delta, blocked_delta) are written only by their worker, with
//    relaxed load + store; non-workers use the global atomics. Their sum is exact whenever all
//    workers are idle, which is the only time the deadlock detector trusts it.
//  - idle_lock guards the idle list, worker::idle and handing a spinning token to a parked
//    worker. Lock order: idle_lock, then global queue lock.
#include "sched/sched.hpp"

#include <cxxabi.h>
#include <dirent.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <new>
#include <stdexcept>
#include <thread>

#include "context/sanitizers.hpp"
#include "diag/diag.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/errors.hpp"
#include "goro/runtime.hpp"
#ifdef GORO_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef GORO_TSAN
#define GORO_NO_TSAN __attribute__((no_sanitize("thread")))
#else
#define GORO_NO_TSAN
#endif
#ifdef GORO_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace goro::detail {

// ---------------------------------------------------------------------------------------------
// Small helpers

namespace {

long futex(std::atomic<std::uint32_t>* w, int op, std::uint32_t val, const timespec* ts) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(w), op | FUTEX_PRIVATE_FLAG, val, ts,
                 nullptr, 0);
}

// Waits until *w != 0 or `deadline` (steady ns; kNever = no limit). Returns false on timeout.
bool futex_wait_nonzero(std::atomic<std::uint32_t>* w, std::int64_t deadline) {
  while (w->load(std::memory_order_acquire) == 0) {
    if (deadline == kNever) {
      futex(w, FUTEX_WAIT, 0, nullptr);
      continue;
    }
    std::int64_t left = deadline - now_ns();
    if (left <= 0) return w->load(std::memory_order_acquire) != 0;
    timespec ts{static_cast<time_t>(left / 1000000000), static_cast<long>(left % 1000000000)};
    futex(w, FUTEX_WAIT, 0, &ts);
  }
  return true;
}

void futex_wake_one(std::atomic<std::uint32_t>* w) { futex(w, FUTEX_WAKE, 1, nullptr); }

}  // namespace

void spin_pause_slow(unsigned& spins) noexcept {
  if (++spins < 64) {
    spin_pause();
  } else {
    sched_yield();  // the holder may have been preempted; on 2 vCPUs spinning would not help
  }
}

std::int64_t now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// ---------------------------------------------------------------------------------------------
// Run queues

namespace {

// Adds d to a counter that only one thread (its owner, or whoever holds its lock) writes and
// others only read: a load and a store, no read-modify-write.
template <class T, class D>
void owner_add(std::atomic<T>& a, D d) noexcept {
  a.store(a.load(std::memory_order_relaxed) + static_cast<T>(d), std::memory_order_relaxed);
}

// Bounded ring: the owner pushes at tail and pops at head; thieves CAS head (Go's runq).
class run_queue {
 public:
  static constexpr std::uint32_t kSize = 256;

  // Owner only. False when full.
  bool push(goroutine* g) noexcept {
    std::uint32_t t = tail_.load(std::memory_order_relaxed);
    std::uint32_t h = head_.load(std::memory_order_acquire);  // acquire: pairs with thieves' CAS
    if (t - h >= kSize) return false;
    buf_[t % kSize].store(g, std::memory_order_relaxed);
    tail_.store(t + 1, std::memory_order_release);  // release: publishes buf_[t] to consumers
    return true;
  }

  // Owner only.
  goroutine* pop() noexcept {
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_relaxed);
      if (h == t) return nullptr;
      goroutine* g = buf_[h % kSize].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(h, h + 1, std::memory_order_release)) return g;
    }
  }

  // Owner only: removes up to half of the queue into out[] (for overflow to the global queue).
  std::uint32_t take_half(goroutine** out) noexcept {
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_relaxed);
      std::uint32_t n = (t - h) / 2;
      if (n == 0) return 0;
      for (std::uint32_t i = 0; i < n; i++)
        out[i] = buf_[(h + i) % kSize].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(h, h + n, std::memory_order_release)) return n;
    }
  }

  // Thief: takes half of this queue into out[] (at most kSize / 2).
  std::uint32_t steal_half(goroutine** out) noexcept {
    for (;;) {
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_acquire);  // acquire: pairs with push()
      std::uint32_t n = t - h;
      n = n - n / 2;
      if (n == 0 || n > kSize / 2 + 1) {
        if (n == 0) return 0;
        continue;  // inconsistent snapshot (h and t read at different times)
      }
      for (std::uint32_t i = 0; i < n; i++)
        out[i] = buf_[(h + i) % kSize].load(std::memory_order_relaxed);
      // acq_rel: the CAS commits the grab; a failed one means someone else took them.
      if (head_.compare_exchange_weak(h, h + n, std::memory_order_acq_rel)) return n;
    }
  }

  std::uint32_t size() const noexcept {
    return tail_.load(std::memory_order_relaxed) - head_.load(std::memory_order_relaxed);
  }

 private:
  alignas(64) std::atomic<std::uint32_t> head_{0};
  alignas(64) std::atomic<std::uint32_t> tail_{0};
  std::atomic<goroutine*> buf_[kSize];
};

// Intrusive FIFO through goroutine::next, under a spinlock.
class locked_queue {
 public:
  void push(goroutine* first, goroutine* last, std::size_t n) noexcept {
    last->next = nullptr;
    lock_.lock();
    if (tail_)
      tail_->next = first;
    else
      head_ = first;
    tail_ = last;
    owner_add(size_, n);
    lock_.unlock();
  }
  void push(goroutine* g) noexcept { push(g, g, 1); }
  // Pops up to max goroutines as a list; returns the count.
  std::size_t pop(goroutine** first, std::size_t max) noexcept {
    if (size_.load(std::memory_order_relaxed) == 0) return 0;
    lock_.lock();
    std::size_t n = 0;
    goroutine* h = head_;
    goroutine* last = nullptr;
    for (goroutine* g = h; g && n < max; g = g->next) {
      last = g;
      n++;
    }
    if (n) {
      head_ = last->next;
      if (!head_) tail_ = nullptr;
      last->next = nullptr;
      owner_add(size_, -static_cast<std::ptrdiff_t>(n));
    }
    lock_.unlock();
    *first = n ? h : nullptr;
    return n;
  }
  std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }

 private:
  spinlock lock_;
  goroutine* head_ = nullptr;
  goroutine* tail_ = nullptr;
  std::atomic<std::size_t> size_{0};
};

enum class post_action : std::uint8_t { none, park, sleep, yield, move, exit };

// After this many goroutines in a row ended in their first run on a worker, spawning there no
// longer wakes an idle worker, and that worker, out of work, watches before stealing.
constexpr unsigned kQuickExits = 64;

struct worker {
  unsigned id = 0;
  run_queue q;
  std::atomic<goroutine*> runnext{nullptr};
  locked_queue inbox;  // forced migration only: goroutines others want to run here
  alignas(64) std::atomic<std::uint32_t> park_word{0};
  std::atomic<bool> spinning{false};
  bool idle = false;            // in the idle list; guarded by idle_lock
  worker* idle_next = nullptr;  // guarded by idle_lock
  std::atomic<std::uint64_t> schedtick{0};
  std::atomic<std::int64_t> live_delta{0};
  std::atomic<std::int64_t> stacks_delta{0};  // stacks taken minus returned here (owner writes)
  std::uint64_t next_id = 0, end_id = 0;      // goroutine ids reserved for this worker
  std::uint64_t id_batch = 0;                 // how many it reserved last time
  // note_lock_contention(): contended channel operations in the current goroutine's run.
  std::uint64_t contention_tick = 0;
  unsigned contentions = 0;
  unsigned move_target = 0;  // post_action::move: where the previous goroutine goes
  bool moved_away = false;   // a goroutine just left for move_target: do not steal it back
  // Goroutines that ended here in their first run, in a row (capped at kQuickExits); a
  // goroutine switching out for the first time here resets it. See launch().
  unsigned quick_exits = 0;
  std::atomic<std::int64_t> blocked_delta{0};
  std::int64_t coarse_now = 0;  // last clock reading, for "blocked since"

  // Scheduler context and the request a goroutine leaves for it when switching away.
  void* g0_sp = nullptr;
  goroutine* cur = nullptr;
  goroutine* prev = nullptr;     // the goroutine that last switched away, for finish_previous()
  goroutine* handoff = nullptr;  // for g0 to run next, taken off the queues by switch_out()
  unsigned runnext_streak = 0;
  post_action action = post_action::none;
  void (*unlock_fn)(void*) = nullptr;
  void* unlock_arg = nullptr;
  rtimer* sleep_timer = nullptr;

  std::uint64_t rng = 0;
  std::int64_t watch_ns = 0;     // how long the next watch sleep lasts (adapts; see find_runnable)
  std::uint64_t moves_seen = 0;  // sched_state::moves when this worker last stole as a watcher
  stack stack_cache[64];
  unsigned n_stacks = 0;
  goroutine* free_gs = nullptr;
  unsigned n_free_gs = 0;

  int* errno_addr = nullptr;    // this worker thread's errno and exception globals, found once
  eh_state* eh_addr = nullptr;  // (a worker never changes threads, its goroutines do)
  void* tsan_g0 = nullptr;
  void* tsan_spare[64];
  unsigned n_tsan_spare = 0;
  void* asan_g0_fake = nullptr;
  const void* asan_g0_bottom = nullptr;
  std::size_t asan_g0_size = 0;
};

struct thread_state {
  worker* w = nullptr;
  goroutine* g = nullptr;
  parker thread_parker{};
};

thread_local thread_state tls;

}  // namespace

constinit thread_local int tls_worker_slot = 0;

namespace {

// Never inlined, and opaque to the optimizer: a goroutine that parked on one worker may resume
// on another, so the address of this thread's state must be recomputed after every switch.
__attribute__((noinline)) thread_state* ts() noexcept {
  thread_state* p = &tls;
  asm volatile("" : "+r"(p));
  return p;
}

// Every goroutine record ever made, in segments that never move (dump() reads it lock-free).
constexpr std::size_t kSegBits = 12, kSegSize = std::size_t{1} << kSegBits, kMaxSegs = 4096;
constexpr std::size_t kSlab = 64;

// A chain of dead goroutine records (through goroutine::next) in the global free list.
struct record_batch {
  goroutine* first;
  unsigned n;
  record_batch* next;
};

struct sched_state {
  worker* workers[kMaxWorkers] = {};
  std::atomic<unsigned> nworkers{0};  // threads started
  std::atomic<unsigned> procs{0};     // workers allowed to run goroutines
  locked_queue global;
  spinlock idle_lock;
  worker* idle_head = nullptr;  // guarded by idle_lock
  std::atomic<int> npidle{0};
  std::atomic<int> nspinning{0};
  std::atomic<int> nwatching{0};        // idle workers in a watch sleep (see find_runnable)
  std::atomic<std::uint64_t> moves{0};  // goroutines moved to share a busy channel, ever

  std::atomic<bool> started{false};
  std::mutex start_mutex;
  std::atomic<bool> run_active{false};
  bool debug_migrate = false;
  stack_pool pool;

  std::atomic<std::int64_t> global_live{0};
  std::atomic<std::int64_t> global_blocked{0};
  std::atomic<int> threads_blocked{0};  // plain threads parked inside goro calls
  std::atomic<std::uint64_t> thread_wakes{0};
  int extra_threads = 0;  // threads the sanitizer runtime starts behind our back
  std::atomic<std::uint64_t> next_id{2};

  spinlock gfree_lock;
  record_batch* gfree_batches = nullptr;  // guarded by gfree_lock

  spinlock allg_lock;
  goroutine* slab = nullptr;  // guarded by allg_lock
  std::size_t slab_left = 0;
  std::atomic<goroutine**> allg_segs[kMaxSegs] = {};
  std::atomic<std::size_t> allg_count{0};
};

sched_state& S() {
  static sched_state* s = new sched_state;  // never destroyed: workers outlive exit()
  return *s;
}

std::uint64_t xorshift(std::uint64_t& s) noexcept {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

// errno and the exception globals live in thread-local storage, and their accessors are
// declared `const`, so a compiler may compute their address once per function, even across a
// context switch after which the goroutine runs on another thread. These wrappers are opaque
// to the optimizer; use them, never `errno` or __cxa_get_globals() directly, around switches.
__attribute__((noinline)) eh_state* eh_globals() noexcept {
  auto* p = reinterpret_cast<eh_state*>(abi::__cxa_get_globals());
  asm volatile("" : "+r"(p));
  return p;
}
__attribute__((noinline)) int* errno_ptr() noexcept {
  int* p = &errno;
  asm volatile("" : "+r"(p));
  return p;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Goroutine records

std::size_t goroutine_count_all() noexcept {
  return S().allg_count.load(std::memory_order_acquire);
}
goroutine* goroutine_at(std::size_t i) noexcept {
  goroutine** seg = S().allg_segs[i >> kSegBits].load(std::memory_order_acquire);
  return seg[i & (kSegSize - 1)];
}

namespace {

goroutine* new_goroutine_record() {
  sched_state& s = S();
  s.allg_lock.lock();
  if (s.slab_left == 0) {
    // Records come in slabs (no allocator header each) and are never freed, only reused.
    s.slab = static_cast<goroutine*>(::operator new(sizeof(goroutine) * kSlab, std::nothrow));
    if (!s.slab) {
      s.allg_lock.unlock();
      throw std::bad_alloc();
    }
    s.slab_left = kSlab;
  }
  goroutine* g = ::new (s.slab++) goroutine;
  s.slab_left--;
  std::size_t i = s.allg_count.load(std::memory_order_relaxed);
  std::size_t seg = i >> kSegBits;
  if (seg >= kMaxSegs) {
    s.allg_lock.unlock();
    throw std::bad_alloc();  // g stays in the slab, unused
  }
  goroutine** p = s.allg_segs[seg].load(std::memory_order_relaxed);
  if (!p) {
    p = new (std::nothrow) goroutine*[kSegSize]();
    if (!p) {
      s.allg_lock.unlock();
      throw std::bad_alloc();
    }
    s.allg_segs[seg].store(p, std::memory_order_release);
  }
  p[i & (kSegSize - 1)] = g;
  // release: publishes the slot to goroutine_at().
  s.allg_count.store(i + 1, std::memory_order_release);
  s.allg_lock.unlock();
  return g;
}

// Dead records move between a worker's free list and the global one in batches of
// kRecordBatch, chained through `next`, so a spawner on one worker and a runner on another pay
// one lock round trip per batch, not per goroutine (Go's gfget/gfput).
constexpr unsigned kRecordBatch = 64;

goroutine* get_goroutine_record() {
  worker* w = ts()->w;
  if (w && !w->free_gs) {
    sched_state& s = S();
    s.gfree_lock.lock();
    if (s.gfree_batches) {
      w->free_gs = s.gfree_batches->first;
      w->n_free_gs = s.gfree_batches->n;
      s.gfree_batches = s.gfree_batches->next;
    }
    s.gfree_lock.unlock();
  }
  if (w && w->free_gs) {
    goroutine* g = w->free_gs;
    w->free_gs = g->next;
    w->n_free_gs--;
    return g;
  }
  return new_goroutine_record();
}

// The batch header lives in the first dead record's closure buffer, unused while it is dead.
void push_record_batch(goroutine* first, unsigned n) noexcept {
  auto* b = ::new (first->inline_buf) record_batch{first, n, nullptr};
  sched_state& s = S();
  s.gfree_lock.lock();
  b->next = s.gfree_batches;
  s.gfree_batches = b;
  s.gfree_lock.unlock();
}

void free_goroutine_record(worker* w, goroutine* g) noexcept {
  g->id.store(0, std::memory_order_relaxed);
  if (!w) {  // a plain thread whose closure threw
    g->next = nullptr;
    push_record_batch(g, 1);
    return;
  }
  g->next = w->free_gs;
  w->free_gs = g;
  if (++w->n_free_gs < 2 * kRecordBatch) return;
  // Hand the oldest kRecordBatch (the coldest) to the global list.
  goroutine* keep_last = w->free_gs;
  for (unsigned i = 1; i < w->n_free_gs - kRecordBatch; i++) keep_last = keep_last->next;
  goroutine* batch = keep_last->next;
  keep_last->next = nullptr;
  w->n_free_gs -= kRecordBatch;
  push_record_batch(batch, kRecordBatch);
}

// Heap closures: always allocated with at least max_align_t's alignment, and the alignment is
// kept in the record so the matching aligned delete is used.
std::align_val_t closure_align(std::size_t align) noexcept {
  return std::align_val_t{align < alignof(std::max_align_t) ? alignof(std::max_align_t) : align};
}
void free_closure(goroutine* g) noexcept {
  if (g->closure != g->inline_buf) ::operator delete(g->closure, closure_align(g->closure_align));
  g->closure = nullptr;
}

void add_live(std::int64_t d) noexcept {
  if (worker* w = ts()->w)
    owner_add(w->live_delta, d);
  else
    S().global_live.fetch_add(d, std::memory_order_relaxed);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Accessors

goroutine* current_g() noexcept { return ts()->g; }
int current_worker_id() noexcept {
  worker* w = ts()->w;
  return w ? static_cast<int>(w->id) : -1;
}
parker* current_parker() noexcept {
  thread_state* t = ts();
  return t->g ? &t->g->park : &t->thread_parker;
}

namespace {

// The sum of one per-worker counter over every started worker.
std::int64_t sum_over_workers(std::atomic<std::int64_t> worker::*counter) noexcept {
  sched_state& s = S();
  std::int64_t n = 0;
  unsigned nw = s.nworkers.load(std::memory_order_acquire);
  for (unsigned i = 0; i < nw; i++) n += (s.workers[i]->*counter).load(std::memory_order_relaxed);
  return n;
}

}  // namespace

std::int64_t live_goroutines() noexcept {
  return S().global_live.load(std::memory_order_relaxed) + sum_over_workers(&worker::live_delta);
}

// One state per thread, reached directly: this function is out of line, so its thread-local
// address is computed afresh on every call, whichever worker the caller runs on.
// A 64-bit LCG (Knuth's MMIX constants), its high half folded into the low one: a multiply and
// an add per call, no seeding branch (any start works; threads start apart by their state's
// address). Good enough for select's random order and the forced migration's target.
std::uint64_t fastrand() noexcept {
  static thread_local std::uint64_t r = 0;
  r = r * 6364136223846793005ull + (reinterpret_cast<std::uintptr_t>(&r) | 1);
  return r ^ (r >> 32);
}

void throw_panic(const char* what) { throw panic_error(what); }

// ---------------------------------------------------------------------------------------------
// Waking workers

namespace {

void wake_worker(worker* w) noexcept {
  w->park_word.store(1, std::memory_order_release);  // release: pairs with futex_wait_nonzero
  futex_wake_one(&w->park_word);
}

// idle_lock held. Removes w from the idle list; false if it is not there.
bool idle_remove_locked(worker* w) noexcept {
  sched_state& s = S();
  for (worker** p = &s.idle_head; *p; p = &(*p)->idle_next) {
    if (*p == w) {
      *p = w->idle_next;
      w->idle = false;
      s.npidle.fetch_sub(1, std::memory_order_seq_cst);
      return true;
    }
  }
  return false;
}

// idle_lock held. Takes the most recently idled worker off the idle list, or null.
worker* pop_idle_locked() noexcept {
  sched_state& s = S();
  worker* w = s.idle_head;
  if (w) {
    s.idle_head = w->idle_next;
    w->idle = false;
    s.npidle.fetch_sub(1, std::memory_order_seq_cst);
  }
  return w;
}

// Wakes one idle worker and hands it the spinning token (Go's wakep): at most one
// spinning worker is woken per submission, never a broadcast.
void wakep() noexcept {
  sched_state& s = S();
  // seq_cst: pairs with the seq_cst updates in find_runnable(); either we see the idle worker
  // or it sees the work we just queued before it sleeps.
  if (s.npidle.load(std::memory_order_seq_cst) == 0) return;
  if (s.nspinning.load(std::memory_order_seq_cst) != 0) return;
  int zero = 0;
  if (!s.nspinning.compare_exchange_strong(zero, 1, std::memory_order_seq_cst)) return;
  s.idle_lock.lock();
  worker* w = pop_idle_locked();
  if (w) w->spinning.store(true, std::memory_order_relaxed);
  s.idle_lock.unlock();
  if (!w) {
    s.nspinning.fetch_sub(1, std::memory_order_seq_cst);
    return;
  }
  wake_worker(w);
}

// Wakes one idle worker without a spinning token (a timer changed; it recomputes its sleep).
void wake_any_idle() noexcept {
  sched_state& s = S();
  if (s.npidle.load(std::memory_order_seq_cst) == 0) return;
  s.idle_lock.lock();
  worker* w = pop_idle_locked();
  s.idle_lock.unlock();
  if (w) wake_worker(w);
}

// Makes sure an idle worker watches the busy ones (see find_runnable) after something was
// queued without a wakep().
void ensure_watcher() noexcept {
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

void push_global(goroutine* g) noexcept {
  S().global.push(g);
  // An RMW on npidle, not a fence (TSan does not model fences): either it comes after a
  // worker's npidle.fetch_add and wakep() sees that worker idle, or before, and that worker's
  // re-check of the global queue in find_runnable() sees this push. Without it a worker going
  // idle could miss this goroutine while we miss the worker.
  S().npidle.fetch_add(0, std::memory_order_seq_cst);
  wakep();
}

// Owner: queues g locally, spilling half the ring to the global queue when it is full. Returns
// true when it spilled.
bool push_local(worker* w, goroutine* g) noexcept {
  if (w->q.push(g)) return false;
  goroutine* batch[run_queue::kSize / 2 + 1];
  std::uint32_t n = w->q.take_half(batch);
  batch[n++] = g;
  for (std::uint32_t i = 0; i + 1 < n; i++) batch[i]->next = batch[i + 1];
  S().global.push(batch[0], batch[n - 1], n);
  return true;
}

// Queues g on worker v (through its inbox) and wakes v if it is idle.
void push_to(worker* v, goroutine* g) noexcept {
  sched_state& s = S();
  v->inbox.push(g);
  s.idle_lock.lock();
  bool was_idle = v->idle && idle_remove_locked(v);
  s.idle_lock.unlock();
  if (was_idle) wake_worker(v);
}

// Forced migration: queue g on a worker other than the one it last ran on.
void push_elsewhere(goroutine* g) noexcept {
  sched_state& s = S();
  unsigned procs = s.procs.load(std::memory_order_relaxed);
  if (procs < 2) {
    push_global(g);
    return;
  }
  unsigned target = (static_cast<unsigned>(g->last_worker + 1) + fastrand() % (procs - 1)) % procs;
  if (static_cast<int>(target) == g->last_worker) target = (target + 1) % procs;
  push_to(s.workers[target], g);
}

}  // namespace

void wake_idle_for_timers() noexcept { wake_any_idle(); }

void ready(goroutine* g, bool next) noexcept {
  sched_state& s = S();
  thread_state* t = ts();
  if (g->counted_blocked) {
    g->counted_blocked = false;
    if (t->w)
      owner_add(t->w->blocked_delta, -1);
    else
      s.global_blocked.fetch_sub(1, std::memory_order_relaxed);
  }
  g->reason.store(wait_reason::none, std::memory_order_relaxed);
  g->state.store(g_state::runnable, std::memory_order_relaxed);
  if (s.debug_migrate) {
    push_elsewhere(g);
    return;
  }
  worker* w = t->w;
  if (!w || w->id >= s.procs.load(std::memory_order_relaxed)) {
    push_global(g);
    return;
  }
  if (next) {
    // The woken goroutine runs next on this worker and so a ping-pong pair stays on one core.
    // No wakep() for it alone: this worker takes it as soon as the current goroutine parks, and
    // waking an idle worker costs tens of microseconds on a VM.
    // Only this worker fills runnext (thieves only empty it), so an empty slot can be filled
    // with a plain store. release: pairs with the acquire exchange that takes it.
    goroutine* old = w->runnext.load(std::memory_order_relaxed);
    if (!old) {
      w->runnext.store(g, std::memory_order_release);
      return;
    }
    old = w->runnext.exchange(g, std::memory_order_acq_rel);
    if (!old) return;
    // The displaced goroutine is queued without a wakep(): this worker runs it as soon as the
    // current goroutine parks, and in a program bound by communication a second worker taking
    // it only makes both fight over the same channel (mpmc: 14 ns/op on one worker, 60-90 on
    // two). An idle worker watches instead and takes the queue if this worker turns out to be
    // running long goroutines (find_runnable).
    push_local(w, old);
    ensure_watcher();
    return;
  }
  push_local(w, g);
  wakep();
}

// ---------------------------------------------------------------------------------------------
// Switching

namespace {

void release_stack(worker* w, const stack& st) noexcept {
  owner_add(w->stacks_delta, -1);
  if (w->n_stacks == std::size(w->stack_cache)) {
    S().pool.put(w->stack_cache + w->n_stacks / 2, w->n_stacks / 2);
    w->n_stacks /= 2;
  }
  w->stack_cache[w->n_stacks++] = st;
}

stack acquire_stack(worker* w) {
  if (w->n_stacks == 0) w->n_stacks = S().pool.get(w->stack_cache, 16);
  stack st = w->stack_cache[--w->n_stacks];
  stack_prepare_reuse(st);
  owner_add(w->stacks_delta, 1);
  return st;
}

[[noreturn]] void goroutine_main(void* arg);

// Makes g the goroutine running on w; called just before switching to it (from g0, or from
// the goroutine that hands over to it directly).
void prepare_run(worker* w, goroutine* g) {
  if (!g->stk) {
    g->stk = acquire_stack(w);
    g->sp = ctx_make(g->stk.top(), goroutine_main, g);
#ifdef GORO_TSAN
    // Reused from finished goroutines: creating a TSan fiber is slow, and TSan allows only
    // 8128 at once, so no more exist than goroutines that have started and not finished.
    g->tsan_fiber = w->n_tsan_spare ? w->tsan_spare[--w->n_tsan_spare] : __tsan_create_fiber(0);
#endif
  }
  w->cur = g;
  ts()->g = g;
  g->last_worker = static_cast<int>(w->id);
  g->state.store(g_state::running, std::memory_order_relaxed);
  owner_add(w->schedtick, 1);
}

// Runs on whatever got control after a goroutine switched away (g0 or the next goroutine, on
// another stack): carries out what that goroutine asked for. Its context is saved by now, so
// this is where a parked goroutine's lock is released.
void finish_previous(worker* w) {
  post_action a = w->action;
  if (a == post_action::none) return;
  w->action = post_action::none;
  goroutine* g = w->prev;
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
      if (w->unlock_fn) w->unlock_fn(w->unlock_arg);  // from here on, g may be woken
      break;
    case post_action::sleep:
      g->state.store(g_state::waiting, std::memory_order_relaxed);
      timer_add(w->sleep_timer);
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
      push_to(S().workers[w->move_target], g);
      w->moved_away = true;
      break;
    case post_action::exit:
      release_stack(w, g->stk);
      g->stk = stack{};
#ifdef GORO_TSAN
      if (w->n_tsan_spare < std::size(w->tsan_spare))
        w->tsan_spare[w->n_tsan_spare++] = g->tsan_fiber;
      else
        __tsan_destroy_fiber(g->tsan_fiber);
      g->tsan_fiber = nullptr;
#endif
      g->state.store(g_state::dead, std::memory_order_relaxed);
      owner_add(w->live_delta, -1);
      free_goroutine_record(w, g);
      break;
    case post_action::none:
      break;
  }
}

// On g0: runs g until control comes back to g0, then finishes what the last goroutine asked.
void execute(worker* w, goroutine* g) {
  prepare_run(w, g);
#ifdef GORO_ASAN
  __sanitizer_start_switch_fiber(&w->asan_g0_fake, g->stk.lo, g->stk.size);
#endif
#ifdef GORO_TSAN
  __tsan_switch_to_fiber(g->tsan_fiber, 0);
#endif
  goro_ctx_switch(&w->g0_sp, g->sp);
#ifdef GORO_ASAN
  __sanitizer_finish_switch_fiber(w->asan_g0_fake, nullptr, nullptr);
#endif
  ts()->g = nullptr;
  w->cur = nullptr;
  finish_previous(w);
}

// Next local goroutine: runnext first (a woken partner inherits the time slice, keeping a
// ping-pong pair on one core), but after kRunnextStreak runnext picks in a row the ring goes
// first, so a pair that keeps waking each other cannot starve the rest of the queue.
constexpr unsigned kRunnextStreak = 32;

goroutine* take_local(worker* w) noexcept {
  goroutine* g;
  if (w->runnext_streak >= kRunnextStreak) {
    w->runnext_streak = 0;
    if ((g = w->q.pop())) return g;
  }
  g = w->runnext.load(std::memory_order_relaxed);
  if (g && (g = w->runnext.exchange(nullptr, std::memory_order_acq_rel))) {
    w->runnext_streak++;
    return g;
  }
  w->runnext_streak = 0;
  return w->q.pop();
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

// In a goroutine: switches away with request `a`, to the next local goroutine if there is one,
// else to g0. Returns when this goroutine is resumed, possibly on another worker.
// Not instrumented by TSan, like goroutine_main: a finished goroutine never returns from
// either, and TSan fibers are reused, so their shadow call stacks must stay balanced.
GORO_NO_TSAN void switch_out(post_action a) {
  thread_state* t = ts();
  worker* w = t->w;
  goroutine* g = t->g;
  g->saved_errno = *w->errno_addr;
  g->eh = *w->eh_addr;
  *w->eh_addr = eh_state{};
  w->action = a;
  w->prev = g;
#ifdef GORO_ASAN
  void* fake = nullptr;
  void** fake_slot = a == post_action::exit ? nullptr : &fake;
#endif
  goroutine* next = next_direct(w);
  if (next && !next->stk && a == post_action::park && w->unlock_fn) {
    // A goroutine's first run maps or takes a stack and touches its first page (a page fault,
    // microseconds on a VM): not while this goroutine's lock (a channel's, say) is still held,
    // which made every other worker spin on it. g0 releases the lock, then runs `next`.
    w->handoff = next;
    next = nullptr;
  }
  if (next) {
    prepare_run(w, next);
#ifdef GORO_ASAN
    __sanitizer_start_switch_fiber(fake_slot, next->stk.lo, next->stk.size);
#endif
#ifdef GORO_TSAN
    __tsan_switch_to_fiber(next->tsan_fiber, 0);
#endif
    goro_ctx_switch(&g->sp, next->sp);
  } else {
#ifdef GORO_ASAN
    __sanitizer_start_switch_fiber(fake_slot, w->asan_g0_bottom, w->asan_g0_size);
#endif
#ifdef GORO_TSAN
    __tsan_switch_to_fiber(w->tsan_g0, 0);
#endif
    goro_ctx_switch(&g->sp, w->g0_sp);
  }
  // Resumed, maybe on another thread: recompute everything thread-related.
#ifdef GORO_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
  w = ts()->w;
  finish_previous(w);
  *w->errno_addr = g->saved_errno;
  *w->eh_addr = g->eh;
}

[[noreturn]] GORO_NO_TSAN void goroutine_main(void* arg) {
  auto* g = static_cast<goroutine*>(arg);
#ifdef GORO_ASAN
  __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
  finish_previous(ts()->w);
  *errno_ptr() = 0;
  try {
    g->ops->run(g->closure);
  } catch (...) {
    fatal_panic_current_exception(g);
  }
  g->ops->destroy(g->closure);
  free_closure(g);
  switch_out(post_action::exit);
  __builtin_unreachable();
}

}  // namespace

// A goroutine that meets another worker's goroutines on its channel locks this often in one
// run moves to that worker.
constexpr unsigned kMoveAfterContentions = 16;

void note_lock_contention(int rival_slot) noexcept {
  thread_state* t = ts();
  worker* w = t->w;
  if (!w || !t->g || S().debug_migrate) return;
  // Only towards a lower-numbered worker: two goroutines contending from both sides must not
  // swap places; everyone converges on the lowest worker involved.
  auto target = static_cast<unsigned>(rival_slot - 1);
  if (target >= w->id) return;
  std::uint64_t tick = w->schedtick.load(std::memory_order_relaxed);
  if (w->contention_tick != tick) {
    w->contention_tick = tick;
    w->contentions = 0;
  }
  if (++w->contentions < kMoveAfterContentions) return;
  w->contentions = 0;
  w->move_target = target;
  switch_out(post_action::move);
}

void park_g(void (*unlock)(void*), void* arg, wait_reason why, const std::source_location& where) {
  thread_state* t = ts();
  goroutine* g = t->g;
  worker* w = t->w;
  g->reason.store(why, std::memory_order_relaxed);
  g->blocked_file.store(where.file_name(), std::memory_order_relaxed);
  g->blocked_line.store(where.line(), std::memory_order_relaxed);
  g->blocked_since.store(w->coarse_now, std::memory_order_relaxed);
  // A sleep parks here only when it never ends (see sleep_g()), and then it is as blocked as
  // any other wait; a sleep with a deadline goes through sleep_g()'s timer instead.
  g->counted_blocked = true;
  w->unlock_fn = unlock;
  w->unlock_arg = arg;
  switch_out(post_action::park);
}

void sleep_g(std::int64_t until, const std::source_location& where) {
  if (until == kNever) {
    // A sleep too long to represent never ends: no timer, and it counts as blocked, so a
    // program left with nothing else to do gets the deadlock report (Go would hang).
    for (;;) {
      park_g(nullptr, nullptr, wait_reason::sleep, where);  // never woken
    }
  }
  struct sleep_timer : rtimer {
    goroutine* g;
  } tm;
  thread_state* t = ts();
  tm.g = t->g;
  tm.when = until;
  tm.deletable = false;  // a sleep is never cancelled
  tm.fire = [](rtimer* r, std::int64_t) { ready(static_cast<sleep_timer*>(r)->g, false); };
  goroutine* g = t->g;
  g->reason.store(wait_reason::sleep, std::memory_order_relaxed);
  g->blocked_file.store(where.file_name(), std::memory_order_relaxed);
  g->blocked_line.store(where.line(), std::memory_order_relaxed);
  g->counted_blocked = false;
  t->w->sleep_timer = &tm;
  switch_out(post_action::sleep);
}

void park(parker* self, void (*unlock)(void*), void* arg, wait_reason why,
          const std::source_location& where) {
  if (self->g) {
    park_g(unlock, arg, why, where);
    return;
  }
  // A plain thread: it counts as blocked in a goro call while it waits (deadlock detector).
  sched_state& s = S();
  // The waker takes it off the count (in unpark), so a thread that was woken but has not run
  // yet already counts as able to wake others.
  s.threads_blocked.fetch_add(1, std::memory_order_seq_cst);
  if (unlock) unlock(arg);
  futex_wait_nonzero(&self->word, kNever);
  self->word.store(0, std::memory_order_relaxed);
}

void unpark(parker* p) noexcept {
  if (p->g) {
    ready(p->g, true);
    return;
  }
  S().threads_blocked.fetch_sub(1, std::memory_order_seq_cst);
  S().thread_wakes.fetch_add(1, std::memory_order_relaxed);
  p->word.store(1, std::memory_order_release);  // release: the waker's writes happen before
  futex_wake_one(&p->word);
}

// ---------------------------------------------------------------------------------------------
// Finding work

namespace {

goroutine* take_global(worker* w) noexcept {
  sched_state& s = S();
  std::size_t total = s.global.size();
  if (total == 0) return nullptr;
  std::size_t procs = s.procs.load(std::memory_order_relaxed);
  std::size_t max = total / (procs ? procs : 1) + 1;
  if (max > run_queue::kSize / 2) max = run_queue::kSize / 2;
  goroutine* first = nullptr;
  std::size_t n = s.global.pop(&first, max);
  if (n == 0) return nullptr;
  goroutine* g = first;
  goroutine* rest = first->next;
  while (rest) {
    goroutine* nx = rest->next;
    push_local(w, rest);
    rest = nx;
  }
  return g;
}

void reset_spinning(worker* w) noexcept {
  if (!w->spinning.load(std::memory_order_relaxed)) return;
  w->spinning.store(false, std::memory_order_relaxed);
  // The last spinner to find work wakes another, so queued work is never stranded.
  if (S().nspinning.fetch_sub(1, std::memory_order_seq_cst) == 1) wakep();
}

// Takes half of v's ring for w: returns one goroutine and queues the rest on w; null if the
// ring was empty.
goroutine* steal_half_into(worker* w, worker* v) noexcept {
  goroutine* batch[run_queue::kSize / 2 + 1];
  std::uint32_t n = v->q.steal_half(batch);
  if (n == 0) return nullptr;
  for (std::uint32_t k = 1; k < n; k++) push_local(w, batch[k]);
  return batch[0];
}

goroutine* steal(worker* w) noexcept {
  sched_state& s = S();
  unsigned procs = s.procs.load(std::memory_order_relaxed);
  for (int round = 0; round < 4; round++) {
    unsigned start = static_cast<unsigned>(xorshift(w->rng) % procs);
    for (unsigned i = 0; i < procs; i++) {
      worker* v = s.workers[(start + i) % procs];
      if (v == w) continue;
      if (goroutine* g = steal_half_into(w, v)) return g;
    }
    for (unsigned k = 0; k < 64; k++) spin_pause();
  }
  return nullptr;
}

// Watching. A worker with nothing to do while another has goroutines queued sleeps briefly
// instead of stealing them at once, then takes them only if that worker has been running long
// goroutines meanwhile: a queue that drains through short goroutines (a channel-bound program)
// is better left on one core, a queue stuck behind a long computation is worth a second one.
constexpr std::int64_t kWatchMinNs = 50'000;
constexpr std::int64_t kWatchMaxNs = 1'000'000;
constexpr std::int64_t kWorthStealingNs = 2'000;  // mean run length that pays for moving work

// Whether v has goroutines waiting to run: in its ring, its runnext or its inbox.
bool has_queued(worker* v) noexcept {
  return v->q.size() || v->runnext.load(std::memory_order_relaxed) || v->inbox.size();
}

bool backlog_elsewhere(worker* w) noexcept {
  sched_state& s = S();
  unsigned procs = s.procs.load(std::memory_order_relaxed);
  for (unsigned i = 0; i < procs; i++)
    if (s.workers[i] != w && has_queued(s.workers[i])) return true;
  return false;
}

// Steals from a worker that has scheduled few goroutines in `elapsed` ns since ticks_before
// was taken: half its queue, else what others handed it (forced migration), else its runnext
// (runnext last, as in Go).
goroutine* steal_from_slow(worker* w, const std::uint64_t* ticks_before,
                           std::int64_t elapsed) noexcept {
  sched_state& s = S();
  unsigned procs = s.procs.load(std::memory_order_relaxed);
  for (unsigned i = 0; i < procs; i++) {
    worker* v = s.workers[i];
    if (v == w) continue;
    std::uint64_t ran = v->schedtick.load(std::memory_order_relaxed) - ticks_before[i];
    if (static_cast<std::int64_t>(ran + 1) * kWorthStealingNs > elapsed) continue;
    if (goroutine* g = steal_half_into(w, v)) return g;
    goroutine* g = nullptr;
    if (v->inbox.size() && v->inbox.pop(&g, 1)) return g;  // forced migration's hand-over
    g = v->runnext.load(std::memory_order_acquire);
    if (g && v->runnext.compare_exchange_strong(g, nullptr, std::memory_order_acq_rel)) return g;
  }
  return nullptr;
}

bool work_visible() noexcept {
  sched_state& s = S();
  if (s.global.size() != 0) return true;
  unsigned procs = s.procs.load(std::memory_order_relaxed);
  for (unsigned i = 0; i < procs; i++)
    if (s.workers[i]->q.size() != 0) return true;
  return false;
}

// ---- Deadlock detection ----------------------------------------------------------------------
// Reported when, twice in a row 20 ms apart and with no scheduling in between: run() is in
// progress, every goroutine is parked on something only another goroutine or thread can end
// (no goroutine runnable, running or sleeping), no timer is pending, and every thread of the
// process is a worker or is itself blocked in a goro call. The last condition is read from
// /proc/self/task: any other thread might hold a channel and wake someone, so it vetoes.

struct deadlock_signature {
  std::uint64_t ticks = 0;
  std::uint64_t thread_wakes = 0;
  std::int64_t live = 0;
  bool operator==(const deadlock_signature&) const = default;
};

int count_process_threads() noexcept {
  DIR* d = opendir("/proc/self/task");
  if (!d) return -1;
  int n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

// idle_lock held, and the caller is idle: all state is quiescent if all workers are.
bool deadlock_suspected_locked(deadlock_signature* sig) noexcept {
  sched_state& s = S();
  if (!s.run_active.load(std::memory_order_acquire)) return false;
  unsigned nw = s.nworkers.load(std::memory_order_acquire);
  unsigned procs = s.procs.load(std::memory_order_relaxed);
  if (s.npidle.load(std::memory_order_seq_cst) != static_cast<int>(procs)) return false;
  std::int64_t live = s.global_live.load(std::memory_order_relaxed);
  std::int64_t blocked = s.global_blocked.load(std::memory_order_relaxed);
  std::uint64_t ticks = 0;
  for (unsigned i = 0; i < nw; i++) {
    worker* v = s.workers[i];
    live += v->live_delta.load(std::memory_order_relaxed);
    blocked += v->blocked_delta.load(std::memory_order_relaxed);
    ticks += v->schedtick.load(std::memory_order_relaxed);
    if (has_queued(v)) return false;
  }
  if (live <= 0 || blocked != live) return false;
  if (s.global.size() != 0 || timers_pending() != 0) return false;
  *sig = {ticks, s.thread_wakes.load(std::memory_order_relaxed), live};
  return true;
}

bool threads_all_accounted() noexcept {
  sched_state& s = S();
  int expected = static_cast<int>(s.nworkers.load(std::memory_order_acquire)) +
                 s.threads_blocked.load(std::memory_order_seq_cst) + s.extra_threads;
  int n = count_process_threads();
  return n >= 0 && n <= expected;
}

goroutine* find_runnable(worker* w) {
  sched_state& s = S();
  deadlock_signature suspect{};
  bool suspected = false;
  std::uint64_t ticks_before[kMaxWorkers];
  std::int64_t watch_since = 0;  // non-zero: we slept watching; ticks_before is the snapshot
  // Stealing at once is for a worker that just ran out of work or was handed the spinning token
  // by wakep(); one woken for any other reason watches first.
  // A worker whose goroutine just moved away to share a channel with another worker's
  // goroutines watches first too: stealing at once would split them again.
  // So does one whose last goroutines all ended in their first run: more such goroutines are
  // best left to the worker that spawns them (see launch()).
  bool may_spin = !w->moved_away && w->quick_exits < kQuickExits;
  w->moved_away = false;
  if (w->watch_ns == 0) w->watch_ns = kWatchMinNs;
  for (;;) {
    if (w->id >= s.procs.load(std::memory_order_acquire)) {
      // Dormant (max_procs was lowered): hand everything over and wait to be needed again.
      goroutine* g;
      while ((g = w->runnext.exchange(nullptr, std::memory_order_acq_rel)) || (g = w->q.pop()))
        s.global.push(g);
      goroutine* first = nullptr;
      while (w->inbox.pop(&first, 1)) s.global.push(first);
      // A spinning token kept here would stop every later wakep(), this one included.
      reset_spinning(w);
      wakep();
      // Our timers are fired by the others, but one sleeping already does not know of timers
      // our last goroutine added: only workers that go on finding work look at the heaps.
      if (timers_next() != kNever) wake_idle_for_timers();
      futex_wait_nonzero(&w->park_word, kNever);
      w->park_word.store(0, std::memory_order_relaxed);
      continue;
    }
    if (timers_next() != kNever) {
      w->coarse_now = now_ns();
      if (timers_next() <= w->coarse_now) timers_run(w->coarse_now);
    }
    std::uint64_t tick = w->schedtick.load(std::memory_order_relaxed);
    if (tick % 61 == 0 && s.global.size()) {
      if (goroutine* g = take_global(w)) return g;
    }
    goroutine* g = nullptr;
    if (w->inbox.size() && w->inbox.pop(&g, 1)) return g;
    if ((g = take_local(w))) return g;
    if ((g = take_global(w))) {
      reset_spinning(w);
      return g;
    }
    // Steal, as a spinning worker, unless half the busy workers already spin.
    if (may_spin && !w->spinning.load(std::memory_order_relaxed)) {
      int busy = static_cast<int>(s.procs.load(std::memory_order_relaxed)) -
                 s.npidle.load(std::memory_order_seq_cst);
      if (2 * s.nspinning.load(std::memory_order_seq_cst) < busy) {
        w->spinning.store(true, std::memory_order_relaxed);
        s.nspinning.fetch_add(1, std::memory_order_seq_cst);
      }
    }
    if (w->spinning.load(std::memory_order_relaxed)) {
      if ((g = steal(w))) {
        reset_spinning(w);
        return g;
      }
    }
    if (watch_since) {
      g = steal_from_slow(w, ticks_before, now_ns() - watch_since);
      watch_since = 0;
      // Back off while the watched workers keep draining their queues by themselves, and
      // after steals whose goroutines went back to share a busy channel (moves since our last
      // steal): stealing such a group every 50 us only splits it again (mpmc at P=2 ran 60%
      // slower than on one worker).
      const std::uint64_t moves = s.moves.load(std::memory_order_relaxed);
      const bool bounced = g && moves != w->moves_seen;
      if (g) w->moves_seen = moves;
      w->watch_ns = g && !bounced ? kWatchMinNs : std::min(2 * w->watch_ns, kWatchMaxNs);
      if (g) {
        reset_spinning(w);
        return g;
      }
    }

    // Nothing to do: go idle.
    s.idle_lock.lock();
    if (s.global.size() || w->inbox.size()) {
      s.idle_lock.unlock();
      continue;
    }
    bool was_spinning = w->spinning.load(std::memory_order_relaxed);
    w->spinning.store(false, std::memory_order_relaxed);
    w->idle = true;
    w->idle_next = s.idle_head;
    s.idle_head = w;
    s.npidle.fetch_add(1, std::memory_order_seq_cst);
    s.idle_lock.unlock();
    // A goroutine queued globally by a thread that saw npidle before our increment: it did
    // not wake anyone, so look once more (pairs with the RMW in push_global).
    if (s.global.size() != 0) {
      s.idle_lock.lock();
      bool removed = w->idle && idle_remove_locked(w);
      // nspinning still counts us if we were spinning: keep the token.
      if (removed && was_spinning) w->spinning.store(true, std::memory_order_relaxed);
      s.idle_lock.unlock();
      if (removed) continue;
    }

    if (was_spinning && s.nspinning.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        work_visible()) {
      // We were the last spinner and work arrived meanwhile: spin again rather than strand it.
      s.idle_lock.lock();
      bool removed = w->idle && idle_remove_locked(w);
      if (removed) {
        w->spinning.store(true, std::memory_order_relaxed);
        s.nspinning.fetch_add(1, std::memory_order_seq_cst);
      }
      s.idle_lock.unlock();
      if (removed) continue;
      // Someone is waking us already: the wait below returns at once.
    }

    std::int64_t deadline = timers_next();
    // A goroutine queued without a wakep() after this look is queued by someone who sees
    // nwatching == 0 and wakes us (ensure_watcher()), or who saw an earlier watcher, which looks
    // again after it stops watching.
    bool watching = backlog_elsewhere(w);
    if (watching) {
      s.nwatching.fetch_add(1, std::memory_order_seq_cst);
      unsigned procs = s.procs.load(std::memory_order_relaxed);
      for (unsigned i = 0; i < procs; i++)
        ticks_before[i] = s.workers[i]->schedtick.load(std::memory_order_relaxed);
      watch_since = now_ns();
      if (watch_since + w->watch_ns < deadline) deadline = watch_since + w->watch_ns;
    }
    deadlock_signature sig;
    s.idle_lock.lock();
    bool suspect_now = deadlock_suspected_locked(&sig);
    s.idle_lock.unlock();
    if (suspect_now) {
      if (suspected && sig == suspect && threads_all_accounted()) {
        s.idle_lock.lock();
        bool still = deadlock_suspected_locked(&sig) && sig == suspect;
        s.idle_lock.unlock();
        if (still) fatal_deadlock();
      }
      suspected = true;
      suspect = sig;
      std::int64_t poll = now_ns() + 20000000;  // 20 ms
      if (poll < deadline) deadline = poll;
    } else {
      suspected = false;
      if (s.run_active.load(std::memory_order_acquire) && live_goroutines() > 0) {
        // A plain thread may block later with nobody left to notice: poll now and then.
        std::int64_t poll = now_ns() + 100000000;  // 100 ms
        if (poll < deadline) deadline = poll;
      }
    }

    bool woken = futex_wait_nonzero(&w->park_word, deadline);
    if (!woken) {
      s.idle_lock.lock();
      bool removed = w->idle && idle_remove_locked(w);
      s.idle_lock.unlock();
      if (!removed) woken = futex_wait_nonzero(&w->park_word, kNever);  // a waker got us first
    } else {
      // Every waker takes us off the idle list before waking us; a wake that finds us still
      // on it was meant for an earlier wait (the park word is shared with the dormant wait).
      // Pushing ourselves again while listed would link us to ourselves.
      s.idle_lock.lock();
      if (w->idle) idle_remove_locked(w);
      s.idle_lock.unlock();
    }
    if (watching) s.nwatching.fetch_sub(1, std::memory_order_seq_cst);
    if (woken) w->park_word.store(0, std::memory_order_relaxed);
    may_spin = w->spinning.load(std::memory_order_relaxed);  // wakep() handed us its token
  }
}

void* worker_main(void* arg) {
  auto* w = static_cast<worker*>(arg);
  thread_state* t = ts();
  t->w = w;
  tls_worker_slot = static_cast<int>(w->id) + 1;
  w->errno_addr = errno_ptr();
  w->eh_addr = eh_globals();
  w->rng = (0x9E3779B97F4A7C15ull * (w->id + 1)) | 1;
  setup_signal_stack();
#ifdef GORO_TSAN
  w->tsan_g0 = __tsan_get_current_fiber();
#endif
#ifdef GORO_ASAN
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr;
    std::size_t size;
    pthread_attr_getstack(&attr, &addr, &size);
    w->asan_g0_bottom = addr;
    w->asan_g0_size = size;
    pthread_attr_destroy(&attr);
  }
#endif
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

// Makes workers [nworkers, n) and starts their threads. Every worker struct exists before any
// thread starts, so code iterating over [0, procs) never meets a missing one.
void start_workers(unsigned n) {
  sched_state& s = S();
  unsigned from = s.nworkers.load(std::memory_order_relaxed);
  if (n <= from) return;
  for (unsigned id = from; id < n; id++) {
    auto* w = new worker;
    w->id = id;
    s.workers[id] = w;
  }
  s.nworkers.store(n, std::memory_order_release);
  for (unsigned id = from; id < n; id++) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    // Created detached: std::thread(f).detach() can crash under churn with glibc 2.36
    // (peers/RESULTS.md).
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    int rc = pthread_create(&th, &attr, worker_main, s.workers[id]);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      std::fprintf(stderr, "goro: cannot start worker thread: %s\n", std::strerror(rc));
      std::abort();
    }
  }
}

unsigned env_unsigned(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end;
  unsigned long x = std::strtoul(v, &end, 10);
  return *end ? 0 : static_cast<unsigned>(x);
}

}  // namespace

void ensure_started(const options* opts) {
  sched_state& s = S();
  if (!opts && s.started.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lk(s.start_mutex);
  unsigned procs = opts && opts->max_procs ? opts->max_procs : 0;
  std::size_t stack_size = opts && opts->stack_size ? opts->stack_size : 0;
  bool first = !s.started.load(std::memory_order_relaxed);
  if (first) {
    if (!procs) procs = env_unsigned("GORO_MAXPROCS");
    if (!procs) procs = std::thread::hardware_concurrency();
    if (!procs) procs = 1;
    if (!stack_size) {
      const char* v = std::getenv("GORO_STACK_SIZE");
      if (v && *v) stack_size = std::strtoull(v, nullptr, 10);
    }
    if (!stack_size) stack_size = default_stack_size();
    const char* mig = std::getenv("GORO_DEBUG_MIGRATE");
    s.debug_migrate = mig && *mig && std::strcmp(mig, "0") != 0;
  }
  if (procs > kMaxWorkers) procs = kMaxWorkers;
  if (stack_size) s.pool.set_size(stack_size);
  if (first) {
    install_signal_handlers();
#ifdef GORO_TSAN
    int before = count_process_threads();
#endif
    s.procs.store(procs, std::memory_order_release);
    start_workers(procs);
#ifdef GORO_TSAN
    // TSan starts a background thread on the first pthread_create; it can wake nobody.
    s.extra_threads = count_process_threads() - before - static_cast<int>(procs);
    if (s.extra_threads < 0) s.extra_threads = 0;
#endif
    s.started.store(true, std::memory_order_release);
    return;
  }
  const unsigned old_procs = s.procs.load(std::memory_order_relaxed);
  if (procs && procs != old_procs) {
    const unsigned old_nworkers = s.nworkers.load(std::memory_order_relaxed);
    start_workers(procs);
    s.procs.store(procs, std::memory_order_release);
    // Wake the idle workers (they re-read procs: the ones now beyond it go dormant) and the
    // dormant ones (those now within it rejoin). Never a worker that is neither: it is busy and
    // re-reads procs in find_runnable anyway, and a wake it did not ask for would leave its
    // park word set, so that its next idle wait returned at once with the worker still in the
    // idle list, and its next idle push linked it to itself (a cycle that hung every worker).
    unsigned nw = s.nworkers.load(std::memory_order_relaxed);
    bool wake[kMaxWorkers] = {};
    s.idle_lock.lock();
    for (unsigned i = 0; i < nw; i++)
      wake[i] = (s.workers[i]->idle && idle_remove_locked(s.workers[i])) ||
                (i >= old_procs && i < old_nworkers);
    s.idle_lock.unlock();
    for (unsigned i = 0; i < nw; i++)
      if (wake[i]) wake_worker(s.workers[i]);
  }
}

// ---------------------------------------------------------------------------------------------
// Spawning and run()

void* goroutine_alloc(std::size_t size, std::size_t align, goroutine** out) {
  goroutine* g = get_goroutine_record();
  if (size <= sizeof(g->inline_buf) && align <= alignof(std::max_align_t)) {
    g->closure = g->inline_buf;
  } else {
    try {
      g->closure = ::operator new (size, std::align_val_t{align < 16 ? 16 : align});
    } catch (...) {
      free_goroutine_record(ts()->w, g);
      throw;
    }
  }
  g->closure_align = static_cast<std::uint32_t>(align);
  *out = g;
  return g->closure;
}

void goroutine_abandon(goroutine* g) noexcept {
  free_closure(g);
  free_goroutine_record(ts()->w, g);
}

namespace {

// Returns true when the caller's run queue (or, when g went to the global queue, that one)
// overflowed.
bool launch(goroutine* g, const closure_ops* ops, const std::source_location& where,
            std::uint64_t id) {
  sched_state& s = S();
  thread_state* t = ts();
  g->ops = ops;
  g->id.store(id, std::memory_order_relaxed);
  g->parent_id.store(t->g ? t->g->id.load(std::memory_order_relaxed) : 0,
                     std::memory_order_relaxed);
  g->created_file.store(where.file_name(), std::memory_order_relaxed);
  g->created_line.store(where.line(), std::memory_order_relaxed);
  g->blocked_file.store(nullptr, std::memory_order_relaxed);
  g->reason.store(wait_reason::none, std::memory_order_relaxed);
  g->counted_blocked = false;
  g->switched_out = false;
  g->saved_errno = 0;
  g->eh = eh_state{};
  g->park.g = g;
  g->state.store(g_state::runnable, std::memory_order_relaxed);
  add_live(1);
  worker* w = t->w;
  if (w && !s.debug_migrate && w->id < s.procs.load(std::memory_order_relaxed)) {
    // Like Go: the new goroutine runs next; the one it displaces is queued for anyone to steal.
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
  return S().global.size() > run_queue::kSize;  // a backlog here counts as an overflow too
}

// Workers reserve ids in batches (Go's goidcache) so that goroutines spawned on several workers
// do not all hit one shared counter. Ids stay unique, not ordered across workers. A worker's
// batches grow from 1 to 16, so a small program's ids still count up in creation order.
std::uint64_t new_goroutine_id() noexcept {
  constexpr std::uint64_t kIdBatchMax = 16;
  worker* w = ts()->w;
  if (!w) return S().next_id.fetch_add(1, std::memory_order_relaxed);
  if (w->next_id == w->end_id) {
    w->id_batch = w->id_batch ? std::min(2 * w->id_batch, kIdBatchMax) : 1;
    w->next_id = S().next_id.fetch_add(w->id_batch, std::memory_order_relaxed);
    w->end_id = w->next_id + w->id_batch;
  }
  return w->next_id++;
}

}  // namespace

void goroutine_launch(goroutine* g, const closure_ops* ops, const std::source_location& where) {
  ensure_started(nullptr);
  // A goroutine that has filled its worker's run queue yields, as Go's preemption would make it
  // do eventually: the goroutines it made run while their records and stacks are still hot,
  // instead of piling up by the million in the global queue.
  if (launch(g, ops, where, new_goroutine_id()) && current_g()) switch_out(post_action::yield);
}

void run_main(void (*fn)(void*), void* arg, const options& opts,
              const std::source_location& where) {
  sched_state& s = S();
  if (current_g()) throw std::logic_error("goro::run: called from a goroutine");
  ensure_started(&opts);
  bool expected = false;
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
  launch(g, &ops, where, 1);
  futex_wait_nonzero(&done, kNever);
  const char* lc = std::getenv("GORO_LEAKCHECK");
  if (lc && *lc && std::strcmp(lc, "0") != 0) leak_report();
}

bool no_goroutine_runnable() noexcept {
  sched_state& s = S();
  // Under idle_lock nobody enters or leaves the idle list: if all `procs` workers are in it,
  // none runs a goroutine or can queue one meanwhile, so the queues read below are a cut.
  // procs: relaxed, it was published (release in ensure_started) before run() launched the
  // goroutines this caller waited for. nworkers: acquire, pairs with the release in
  // start_workers(), so every workers[i] below is constructed.
  s.idle_lock.lock();
  bool none = s.npidle.load(std::memory_order_seq_cst) ==
                  static_cast<int>(s.procs.load(std::memory_order_relaxed)) &&
              s.global.size() == 0;
  unsigned nw = s.nworkers.load(std::memory_order_acquire);
  for (unsigned i = 0; none && i < nw; i++) none = !has_queued(s.workers[i]);
  s.idle_lock.unlock();
  return none;
}

}  // namespace goro::detail

// ---------------------------------------------------------------------------------------------
// Public entry points

namespace goro {

void yield() {
  detail::thread_state* t = detail::ts();
  if (!t->g) {
    sched_yield();
    return;
  }
  detail::switch_out(detail::post_action::yield);
}

std::uint64_t goroutine_id() noexcept {
  detail::goroutine* g = detail::current_g();
  return g ? g->id.load(std::memory_order_relaxed) : 0;
}

std::size_t num_goroutine() noexcept {
  std::int64_t n = detail::live_goroutines();
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

namespace {

// Sleeps until `until` (steady ns, saturated: kNever, as for Go's time.Sleep(math.MaxInt64),
// sleeps for ever; see sleep_g()).
void sleep_until_ns(std::int64_t until, const std::source_location& where) {
  if (!detail::current_g()) {
    if (until == detail::kNever) {
      for (;;) std::this_thread::sleep_for(std::chrono::hours(24 * 365));
    }
    std::this_thread::sleep_until(
        std::chrono::steady_clock::time_point(std::chrono::nanoseconds(until)));
    return;
  }
  if (until <= detail::now_ns()) {
    yield();
    return;
  }
  detail::sleep_g(until, where);
}

}  // namespace

void sleep_until(std::chrono::steady_clock::time_point t, std::source_location where) {
  sleep_until_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count(),
                 where);
}

void sleep_for(std::chrono::nanoseconds d, std::source_location where) {
  sleep_until_ns(detail::deadline_after(detail::now_ns(), d.count()), where);
}

namespace debug {
std::size_t live_stacks() noexcept {
  return static_cast<std::size_t>(detail::sum_over_workers(&detail::worker::stacks_delta));
}
std::size_t num_goroutine_total() noexcept { return num_goroutine(); }
}  // namespace debug

}  // namespace goro
