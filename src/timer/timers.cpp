// The timer heaps, one per worker plus one for plain threads. Invariants, per heap: for every
// timer in it, t->heap is the heap's number (see timer/heap.hpp for the rest); a timer is in
// at most one heap; t->heap is written only under that heap's lock.
#include "timer/timers.hpp"

#include "base/check.hpp"
#include "base/limits.hpp"
#include "timer/heap.hpp"

namespace goro::detail {

namespace {

// One heap per worker (Go's per-P timers) plus one for plain threads: a goroutine's sleep goes
// to its own worker's heap, so two workers sleeping and waking goroutines do not share a lock,
// and a timer usually fires on the worker whose goroutine set it. Any worker runs any heap's
// due timers (timers_run), so a busy or dormant worker's timers still fire.
constexpr int kHeaps = kMaxWorkers + 1;  // one per worker, one for plain threads
constexpr int kThreadHeap = kHeaps - 1;

struct heaps {
  timer_heap h[kHeaps];
  // Heaps [0, used) and kThreadHeap may hold timers: raised (never lowered) by timer_add.
  std::atomic<int> used{0};
};

heaps& H() {
  static heaps* hs = new heaps;  // never destroyed: workers outlive exit()
  return *hs;
}

template <class F>
void for_each_heap(heaps& hs, F f) {
  // acquire: pairs with timer_add()'s release CAS.
  int used = hs.used.load(std::memory_order_acquire);
  for (int i = 0; i < used; i++) f(hs.h[i]);
  f(hs.h[kThreadHeap]);
}

}  // namespace

bool timer_add(rtimer* t, int heap_id) {
  heaps& hs = H();
  const int id = heap_id < 0 ? kThreadHeap : heap_id;
  if (id != kThreadHeap && hs.used.load(std::memory_order_relaxed) <= id) {
    int seen = hs.used.load(std::memory_order_relaxed);
    // release: pairs with for_each_heap()'s acquire; whoever sees the new count sees the heap
    // (constructed long before, anyway).
    while (seen <= id && !hs.used.compare_exchange_weak(seen, id + 1, std::memory_order_release)) {
    }
  }
  timer_heap& h = hs.h[id];
  GORO_DCHECK(t->when != kNever && t->heap.load(std::memory_order_relaxed) < 0);
  h.lock.lock();
  bool earliest;
  try {
    earliest = h.push(t);
  } catch (...) {
    h.lock.unlock();
    throw;
  }
  t->heap.store(static_cast<std::int16_t>(id), std::memory_order_relaxed);
  h.publish();
  h.lock.unlock();
  return earliest;
}

bool timer_del(rtimer* t) noexcept {
  heaps& hs = H();
  for (;;) {
    // Which heap t is in can change only while it is out of every heap (fired, then added
    // again), so a stale answer is caught by the check under that heap's lock.
    // acquire: pairs with run_heap()'s release; a timer taken out to fire shows `firing`.
    const int id = t->heap.load(std::memory_order_acquire);
    if (id < 0) return false;
    timer_heap& h = hs.h[id];
    h.lock.lock();
    if (t->heap.load(std::memory_order_relaxed) != id) {
      h.lock.unlock();
      continue;
    }
    const bool was = h.erase(t);
    if (was) {
      t->heap.store(-1, std::memory_order_relaxed);
      h.publish();
    }
    h.lock.unlock();
    return was;
  }
}

std::int64_t timers_next() noexcept {
  std::int64_t next = kNever;
  for_each_heap(H(), [&](timer_heap& h) {
    std::int64_t n = h.next.load(std::memory_order_relaxed);
    if (n < next) next = n;
  });
  return next;
}

std::size_t timers_pending() noexcept {
  std::size_t n = 0;
  // acquire: pairs with publish()'s release.
  for_each_heap(H(), [&](timer_heap& h) { n += h.size.load(std::memory_order_acquire); });
  return n;
}

namespace {

// Fires h's timers due at `now`, 64 per lock hold. Returns how many fired.
int run_heap(timer_heap& h, std::int64_t now) {
  int fired = 0;
  constexpr int kBatch = 64;
  rtimer* due[kBatch];
  while (h.next.load(std::memory_order_relaxed) <= now) {
    int n = 0;
    h.lock.lock();
    for (rtimer* t; n < kBatch && (t = h.pop_due(now));) {
      // Not for sleeps: their timers are on cold stacks and nobody waits for their fire.
      if (t->deletable) t->firing.fetch_add(1, std::memory_order_relaxed);
      // release, last: timer_del() can see "in no heap" without taking this lock, and must
      // then see `firing` too, or stop()/reset() would not wait for this fire.
      t->heap.store(-1, std::memory_order_release);
      due[n++] = t;
    }
    if (n) h.publish();
    h.lock.unlock();
    // In deadline order. Never touch a timer after its fire: it may be gone.
    for (int i = 0; i < n; i++) due[i]->fire(due[i], now);
    fired += n;
    if (n < kBatch) break;
  }
  return fired;
}

}  // namespace

int timers_run(std::int64_t now, int own_heap_id) {
  heaps& hs = H();
  // The caller's own heap first: its timers' goroutines likely ran here last. A worker that
  // has never added a timer may be beyond `used`: its heap is empty, and that is fine.
  timer_heap* own = &hs.h[own_heap_id < 0 ? kThreadHeap : own_heap_id];
  int fired = run_heap(*own, now);
  for_each_heap(hs, [&](timer_heap& h) {
    if (&h != own) fired += run_heap(h, now);
  });
  return fired;
}

}  // namespace goro::detail
