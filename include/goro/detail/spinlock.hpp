// goro/detail/spinlock.hpp: the short lock that guards a channel, a wait_group or a mutex's
// waiter queue. Held only for a handful of loads and stores, never across a park.
#pragma once

#include <atomic>

namespace goro::detail {

void spin_pause_slow(unsigned& spins) noexcept;  // pause, then sched_yield after a while

class spinlock {
 public:
  void lock() noexcept {
    // acquire: pairs with the release in unlock(); everything the previous holder wrote is visible.
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    lock_slow();
  }
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  void lock_slow() noexcept {
    unsigned spins = 0;
    do {
      while (locked_.load(std::memory_order_relaxed)) spin_pause_slow(spins);
    } while (locked_.exchange(true, std::memory_order_acquire));
  }
  std::atomic<bool> locked_{false};
};

// For park(): releases the spinlock passed as its argument.
inline void unlock_spinlock(void* l) { static_cast<spinlock*>(l)->unlock(); }

}  // namespace goro::detail
