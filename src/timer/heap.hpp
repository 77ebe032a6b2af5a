// src/timer: the containers of one timer heap (timers.cpp keeps one per worker). Header-only
// so that tests can check them directly.
//
// Invariants of a timer_heap, all guarded by its lock (next and size are also read without
// it, as hints): every timer in it is in exactly one of heap (a 4-ary min-heap on when) and
// fifo (deadline order); for every entry e, e.t()->index is its position in heap if the timer
// is deletable (entries of the FIFO and of non-deletable timers keep no index); next is the
// earliest `when` (kNever when empty) and size the number of timers, as of the last publish().
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "goro/detail/spinlock.hpp"
#include "goro/detail/thread_annotations.hpp"
#include "timer/timers.hpp"

namespace goro::detail {

// Entries carry their deadline, and whether their timer tracks its index, so sifting works
// within the array (four children share a cache line) and writes a moved timer's index only
// when the timer can be deleted. A sleeping goroutine's timer lives on its cold stack: writing
// its index at every move cost a cache miss per heap level (most of the pop time with 10,000
// sleepers).
static_assert(alignof(rtimer) >= 2, "heap_entry keeps a flag in the low bit of the address");

struct heap_entry {
  std::int64_t when;
  std::uintptr_t bits;  // the rtimer's address, | 1 when it is deletable
  rtimer* t() const noexcept {
    // NOLINTNEXTLINE(performance-no-int-to-ptr): the tagged address above, 16 bytes an entry.
    return reinterpret_cast<rtimer*>(bits & ~std::uintptr_t{1});
  }
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
  std::vector<heap_entry> heap GORO_GUARDED_BY(lock);  // 4-ary min-heap on when
  // Timers that are never deleted and come in deadline order (sleeps of one duration, the
  // common case) skip the heap: in and out in O(1), with no unpredictable compares. A timer
  // earlier than the FIFO's last one, or deletable, goes to the heap; the earliest timer is at
  // the front of one of the two.
  entry_ring fifo GORO_GUARDED_BY(lock);
  std::atomic<std::int64_t> next{kNever};
  std::atomic<std::size_t> size{0};

  // Every member function: lock held.
  void place(std::size_t i, heap_entry e) noexcept GORO_REQUIRES(lock) {
    heap[i] = e;
    if (e.bits & 1) e.t()->index = static_cast<std::int32_t>(i);
  }
  // Both return where the entry ended up.
  std::size_t sift_up(std::size_t i) noexcept GORO_REQUIRES(lock) {
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
  std::size_t sift_down(std::size_t i) noexcept GORO_REQUIRES(lock) {
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
  void remove_at(std::size_t i) noexcept GORO_REQUIRES(lock) {
    heap_entry last = heap.back();
    heap.pop_back();
    if (i < heap.size()) {
      heap[i] = last;
      sift_up(sift_down(i));
    }
  }
  // Whether the earliest timer is the FIFO's front (else the heap's top); false when empty.
  bool fifo_first() const noexcept GORO_REQUIRES(lock) {
    return !fifo.empty() && (heap.empty() || fifo.front().when <= heap[0].when);
  }
  const heap_entry* earliest() const noexcept GORO_REQUIRES(lock) {
    return fifo_first() ? &fifo.front() : heap.empty() ? nullptr : &heap[0];
  }
  // lock held. Adds t (throws std::bad_alloc, leaving the heap as it was): a sleep that comes
  // in deadline order to the FIFO, anything else to the heap. Returns whether t is now the
  // earliest.
  bool push(rtimer* t) GORO_REQUIRES(lock) {
    const heap_entry e{t->when, reinterpret_cast<std::uintptr_t>(t) | t->deletable};
    if (!t->deletable && (fifo.empty() || fifo.back().when <= t->when)) {
      fifo.push_back(e);
    } else {
      heap.push_back(e);
      sift_up(heap.size() - 1);
    }
    return earliest()->t() == t;
  }
  // lock held. Removes deletable timer t if it is here; whether it was.
  bool erase(rtimer* t) noexcept GORO_REQUIRES(lock) {
    if (t->index < 0) return false;
    remove_at(static_cast<std::size_t>(t->index));
    t->index = -1;
    return true;
  }
  // lock held. Removes and returns the earliest timer if it is due at `now`, else null.
  rtimer* pop_due(std::int64_t now) noexcept GORO_REQUIRES(lock) {
    const heap_entry* e = earliest();
    if (!e || e->when > now) return nullptr;
    rtimer* t = e->t();
    if (fifo_first())
      fifo.pop_front();
    else
      remove_at(0);
    t->index = -1;
    return t;
  }
  // lock held. Makes next and size current for readers that do not take the lock.
  void publish() noexcept GORO_REQUIRES(lock) {
    const heap_entry* e = earliest();
    // release: pairs with the acquire loads of timers_pending(); relaxed readers (timers_next)
    // only use next as a hint and look again under the lock.
    next.store(e ? e->when : kNever, std::memory_order_release);
    size.store(heap.size() + fifo.size(), std::memory_order_release);
  }
};

}  // namespace goro::detail
