// The timer heaps. Invariants, per heap: for every timer in it, heap[i].t() == t, t->heap is
// the heap's number and, if t->deletable, t->index == i; next is the earliest `when` (kNever
// when empty). All guarded by the heap's lock (next and size are also read without it).
#include "time/timers.hpp"

#include <vector>

#include "goro/detail/spinlock.hpp"
#include "sched/sched.hpp"

namespace goro::detail {

void wake_idle_for_timers() noexcept;  // sched.cpp

namespace {

// Entries carry their deadline, and whether their timer tracks its index, so sifting works
// within the array (four children share a cache line) and writes a moved timer's index only
// when the timer can be deleted. A sleeping goroutine's timer lives on its cold stack: writing
// its index at every move cost a cache miss per heap level (most of the pop time with 10,000
// sleepers).
static_assert(alignof(rtimer) >= 2, "heap_entry keeps a flag in the low bit of the address");

struct heap_entry {
  std::int64_t when;
  std::uintptr_t bits;  // the rtimer's address, | 1 when it is deletable
  rtimer* t() const noexcept { return reinterpret_cast<rtimer*>(bits & ~std::uintptr_t{1}); }
};

// A FIFO of entries in deadline order (a ring that doubles when full).
class entry_ring {
 public:
  bool empty() const noexcept { return count_ == 0; }
  std::size_t size() const noexcept { return count_; }
  const heap_entry& front() const noexcept { return buf_[head_]; }
  const heap_entry& back() const noexcept { return buf_[(head_ + count_ - 1) & (buf_.size() - 1)]; }
  void pop_front() noexcept {
    head_ = (head_ + 1) & (buf_.size() - 1);
    count_--;
  }
  void push_back(heap_entry e) {  // throws std::bad_alloc, leaving the ring as it was
    if (count_ == buf_.size()) {
      std::vector<heap_entry> bigger(buf_.empty() ? 64 : 2 * buf_.size());
      for (std::size_t i = 0; i < count_; i++) bigger[i] = buf_[(head_ + i) & (buf_.size() - 1)];
      buf_.swap(bigger);
      head_ = 0;
    }
    buf_[(head_ + count_) & (buf_.size() - 1)] = e;
    count_++;
  }

 private:
  std::vector<heap_entry> buf_;  // size 0 or a power of two
  std::size_t head_ = 0, count_ = 0;
};

struct alignas(64) timer_heap {  // own cache lines: one per worker
  spinlock lock;
  std::vector<heap_entry> heap;  // 4-ary min-heap on when
  // Timers that are never deleted and come in deadline order (sleeps of one duration, the
  // common case) skip the heap: in and out in O(1), with no unpredictable compares. A timer
  // earlier than the FIFO's last one, or deletable, goes to the heap; the earliest timer is at
  // the front of one of the two.
  entry_ring fifo;
  std::atomic<std::int64_t> next{kNever};
  std::atomic<std::size_t> size{0};

  void place(std::size_t i, heap_entry e) noexcept {
    heap[i] = e;
    if (e.bits & 1) e.t()->index = static_cast<std::int32_t>(i);
  }
  // Both return where the entry ended up.
  std::size_t sift_up(std::size_t i) noexcept {
    heap_entry e = heap[i];
    while (i > 0) {
      std::size_t p = (i - 1) / 4;
      if (heap[p].when <= e.when) break;
      place(i, heap[p]);
      i = p;
    }
    place(i, e);
    return i;
  }
  std::size_t sift_down(std::size_t i) noexcept {
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
    return i;
  }
  void remove_at(std::size_t i) noexcept {
    heap_entry last = heap.back();
    heap.pop_back();
    if (i < heap.size()) {
      heap[i] = last;
      sift_up(sift_down(i));
    }
  }
  // Whether the earliest timer is the FIFO's front (else the heap's top); false when empty.
  bool fifo_first() const noexcept {
    return !fifo.empty() && (heap.empty() || fifo.front().when <= heap[0].when);
  }
  const heap_entry* earliest() const noexcept {
    return fifo_first() ? &fifo.front() : heap.empty() ? nullptr : &heap[0];
  }
  void publish() noexcept {
    const heap_entry* e = earliest();
    next.store(e ? e->when : kNever, std::memory_order_release);
    size.store(heap.size() + fifo.size(), std::memory_order_release);
  }
};

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
  int used = hs.used.load(std::memory_order_acquire);
  for (int i = 0; i < used; i++) f(hs.h[i]);
  f(hs.h[kThreadHeap]);
}

}  // namespace

void timer_add(rtimer* t) {
  heaps& hs = H();
  const int w = current_worker_id();
  const int id = w < 0 ? kThreadHeap : w;
  if (id != kThreadHeap && hs.used.load(std::memory_order_relaxed) <= id) {
    int seen = hs.used.load(std::memory_order_relaxed);
    // release: whoever sees the new count sees the heap (constructed long before, anyway).
    while (seen <= id && !hs.used.compare_exchange_weak(seen, id + 1, std::memory_order_release)) {
    }
  }
  timer_heap& h = hs.h[id];
  const heap_entry e{t->when, reinterpret_cast<std::uintptr_t>(t) | t->deletable};
  h.lock.lock();
  try {
    if (!t->deletable && (h.fifo.empty() || h.fifo.back().when <= t->when)) {
      h.fifo.push_back(e);
    } else {
      h.heap.push_back(e);
      h.sift_up(h.heap.size() - 1);
    }
  } catch (...) {
    h.lock.unlock();
    throw;
  }
  t->heap.store(static_cast<std::int16_t>(id), std::memory_order_relaxed);
  bool earliest = h.earliest()->t() == t;
  h.publish();
  h.lock.unlock();
  // A worker running goroutines checks the heaps between them; idle ones sleep until the old
  // earliest deadline and must be told about a new one.
  if (earliest && w < 0) wake_idle_for_timers();
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
    bool was = t->index >= 0;
    if (was) {
      h.remove_at(static_cast<std::size_t>(t->index));
      t->index = -1;
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
    for (const heap_entry* e; n < kBatch && (e = h.earliest()) && e->when <= now;) {
      rtimer* t = e->t();
      if (h.fifo_first())
        h.fifo.pop_front();
      else
        h.remove_at(0);
      t->index = -1;
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

int timers_run(std::int64_t now) {
  heaps& hs = H();
  // This worker's own heap first: its timers' goroutines likely ran here last.
  const int w = current_worker_id();
  timer_heap* own = w >= 0 ? &hs.h[w] : nullptr;
  int fired = own ? run_heap(*own, now) : 0;
  for_each_heap(hs, [&](timer_heap& h) {
    if (&h != own) fired += run_heap(h, now);
  });
  return fired;
}

}  // namespace goro::detail
