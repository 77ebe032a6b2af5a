// goro/detail/spinlock.hpp: the short lock that guards a channel, a wait_group or a mutex's
// waiter queue. Held only for a handful of loads and stores; a goroutine that parks holds it
// only until its context is saved, on the same worker (see src/sched/switch.cpp).
// A capability for clang's thread-safety analysis: the fields it guards say GORO_GUARDED_BY.
#pragma once

#include <atomic>

#include "goro/detail/thread_annotations.hpp"

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro::detail {

// One spin-wait hint to the CPU.
inline void spin_pause() noexcept {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

void spin_pause_slow(unsigned& spins) noexcept;  // pause, then sched_yield after a while

class GORO_CAPABILITY("mutex") spinlock {
 public:
  void lock() noexcept GORO_ACQUIRE() { static_cast<void>(lock_contended()); }
  bool try_lock() noexcept GORO_TRY_ACQUIRE(true) {
    return !locked_.load(std::memory_order_relaxed) &&
           // acquire: pairs with the release in unlock(), like lock_contended().
           !locked_.exchange(true, std::memory_order_acquire);
  }
  // lock(), returning whether it had to wait.
  bool lock_contended() noexcept GORO_ACQUIRE() {
    // acquire: pairs with the release in unlock(); everything the previous holder wrote is visible.
    if (!locked_.exchange(true, std::memory_order_acquire)) return false;
    lock_slow();
    return true;
  }
  // release: pairs with the acquire exchange of the next locker.
  void unlock() noexcept GORO_RELEASE() { locked_.store(false, std::memory_order_release); }
  // Whether someone holds it (not necessarily the caller): for GORO_DCHECK on functions that
  // require the lock. Relaxed: a check of a contract, not a synchronisation.
  bool held() const noexcept { return locked_.load(std::memory_order_relaxed); }

 private:
  void lock_slow() noexcept {
    unsigned spins = 0;
    unsigned backoff = 1;
    do {
      // Exponential backoff before looking again: the holder's core keeps the line while we
      // wait, so a burst of operations by one core is not paid for with one transfer each.
      for (unsigned i = 0; i < backoff; i++) spin_pause();
      if (backoff < 64) backoff *= 2;
      while (locked_.load(std::memory_order_relaxed)) spin_pause_slow(spins);
      // acquire: pairs with the release in unlock().
    } while (locked_.exchange(true, std::memory_order_acquire));
  }

  std::atomic<bool> locked_{false};
};

}  // namespace goro::detail
#pragma GCC visibility pop
