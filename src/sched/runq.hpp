// src/sched: the run queues. Header-only: they sit on every hot path (and tests check them
// directly).
//
// run_queue: a bounded ring (Go's runq). Only its owner pushes at tail and pops at head;
// thieves take half from head with one CAS. Invariants: tail - head <= kSize (as read by the
// owner); slots [head, tail) hold queued goroutines; a slot is read only after the tail that
// published it (release/acquire) and before the CAS on head that gives it away.
// locked_queue: an intrusive FIFO under a spinlock (the global queue, a worker's inbox).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "goro/detail/spinlock.hpp"
#include "goro/detail/thread_annotations.hpp"
#include "goroutine/goroutine.hpp"

namespace goro::detail {

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
      // acquire: pairs with a thief's CAS on head.
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_relaxed);
      if (h == t) return nullptr;
      goroutine* g = buf_[h % kSize].load(std::memory_order_relaxed);
      // release: pairs with push()'s acquire of head; the slot may be reused.
      if (head_.compare_exchange_weak(h, h + 1, std::memory_order_release)) return g;
    }
  }

  // Owner only: removes up to half of the queue into out[] (for overflow to the global queue).
  std::uint32_t take_half(goroutine** out) noexcept {
    for (;;) {
      // acquire: pairs with a thief's CAS on head.
      std::uint32_t h = head_.load(std::memory_order_acquire);
      std::uint32_t t = tail_.load(std::memory_order_relaxed);
      std::uint32_t n = (t - h) / 2;
      if (n == 0) return 0;
      for (std::uint32_t i = 0; i < n; i++)
        out[i] = buf_[(h + i) % kSize].load(std::memory_order_relaxed);
      // release: as in pop().
      if (head_.compare_exchange_weak(h, h + n, std::memory_order_release)) return n;
    }
  }

  // Thief: takes half of this queue into out[] (at most kSize / 2).
  std::uint32_t steal_half(goroutine** out) noexcept {
    for (;;) {
      // acquire: pairs with the owner's and other thieves' CAS on head.
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
  goroutine* head_ GORO_GUARDED_BY(lock_) = nullptr;
  goroutine* tail_ GORO_GUARDED_BY(lock_) = nullptr;
  std::atomic<std::size_t> size_{0};  // written under lock_, read without it as a hint
};

}  // namespace goro::detail
