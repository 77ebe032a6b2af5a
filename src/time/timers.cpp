// The timer heap. Invariants: heap_[i]->index == i for every timer in the heap; next_ is the
// earliest `when` (kNever when empty). Both guarded by lock_ (next_ is also read without it).
#include "time/timers.hpp"

#include <vector>

#include "goro/detail/spinlock.hpp"
#include "sched/sched.hpp"

namespace goro::detail {

void wake_idle_for_timers() noexcept;  // sched.cpp

namespace {

// Entries carry their deadline so sifting compares within the array (four children share a
// cache line) instead of dereferencing cold timers.
struct heap_entry {
  std::int64_t when;
  rtimer* t;
};

struct timer_heap {
  spinlock lock;
  std::vector<heap_entry> heap;  // 4-ary min-heap on when
  std::atomic<std::int64_t> next{kNever};
  std::atomic<std::size_t> size{0};

  void place(std::size_t i, heap_entry e) noexcept {
    heap[i] = e;
    e.t->index = static_cast<std::int32_t>(i);
  }
  void sift_up(std::size_t i) noexcept {
    heap_entry e = heap[i];
    while (i > 0) {
      std::size_t p = (i - 1) / 4;
      if (heap[p].when <= e.when) break;
      place(i, heap[p]);
      i = p;
    }
    place(i, e);
  }
  void sift_down(std::size_t i) noexcept {
    heap_entry e = heap[i];
    std::size_t n = heap.size();
    for (;;) {
      std::size_t c = 4 * i + 1, best = i;
      std::int64_t bw = e.when;
      for (std::size_t k = c; k < c + 4 && k < n; k++)
        if (heap[k].when < bw) {
          best = k;
          bw = heap[k].when;
        }
      if (best == i) break;
      place(i, heap[best]);
      i = best;
    }
    place(i, e);
  }
  void remove_at(std::size_t i) noexcept {
    heap_entry last = heap.back();
    heap.pop_back();
    if (i < heap.size()) {
      place(i, last);
      sift_down(i);
      sift_up(static_cast<std::size_t>(last.t->index));
    }
  }
  void publish() noexcept {
    next.store(heap.empty() ? kNever : heap[0].when, std::memory_order_release);
    size.store(heap.size(), std::memory_order_release);
  }
};

timer_heap& H() {
  static timer_heap* h = new timer_heap;  // never destroyed: workers outlive exit()
  return *h;
}

}  // namespace

void timer_add(rtimer* t) {
  timer_heap& h = H();
  h.lock.lock();
  try {
    h.heap.push_back(heap_entry{t->when, t});
  } catch (...) {
    h.lock.unlock();
    throw;
  }
  h.sift_up(h.heap.size() - 1);
  bool earliest = h.heap[0].t == t;
  h.publish();
  h.lock.unlock();
  // A worker running goroutines checks the heap between them; idle ones sleep until the old
  // earliest deadline and must be told about a new one.
  if (earliest && current_worker_id() < 0) wake_idle_for_timers();
}

bool timer_del(rtimer* t) noexcept {
  timer_heap& h = H();
  h.lock.lock();
  bool was = t->index >= 0;
  if (was) {
    h.remove_at(static_cast<std::size_t>(t->index));
    t->index = -1;
    h.publish();
  }
  h.lock.unlock();
  return was;
}

std::int64_t timers_next() noexcept { return H().next.load(std::memory_order_relaxed); }

std::size_t timers_pending() noexcept { return H().size.load(std::memory_order_acquire); }

int timers_run(std::int64_t now) {
  timer_heap& h = H();
  int fired = 0;
  constexpr int kBatch = 64;  // due timers taken per lock hold
  rtimer* due[kBatch];
  for (;;) {
    int n = 0;
    h.lock.lock();
    while (n < kBatch && !h.heap.empty() && h.heap[0].when <= now) {
      rtimer* t = h.heap[0].t;
      h.remove_at(0);
      t->index = -1;
      t->firing.store(true, std::memory_order_relaxed);
      due[n++] = t;
    }
    if (n) h.publish();
    h.lock.unlock();
    // In deadline order. Never touch a timer after its fire: it may be gone.
    for (int i = 0; i < n; i++) due[i]->fire(due[i], now);
    fired += n;
    if (n < kBatch) return fired;
  }
}

}  // namespace goro::detail
