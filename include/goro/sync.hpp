// goro/sync.hpp: Go's sync.WaitGroup and sync.Mutex, parking goroutines instead of threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <source_location>

#include "goro/detail/core.hpp"
#include "goro/detail/spinlock.hpp"

namespace goro {

// Go's sync.WaitGroup. add(n) before starting the work, done() once per finished piece,
// wait() blocks until the counter is zero. Usable from goroutines and plain threads at once.
// Memory ordering: every done() happens before the wait() it releases returns.
// Like std::latch, it may be destroyed as soon as wait() returns, even while the done() that
// released it is still running.
class wait_group {
 public:
  wait_group() = default;
  wait_group(const wait_group&) = delete;
  wait_group& operator=(const wait_group&) = delete;

  // Adds delta (may be negative). Throws panic_error("sync: negative WaitGroup counter") if the
  // counter would drop below zero. Reaching zero wakes every waiter.
  void add(int delta);
  void done() { add(-1); }
  // Blocks until the counter is zero (returns at once if it is).
  void wait(std::source_location where = std::source_location::current());

 private:
  detail::spinlock lock_;
  std::atomic<std::int64_t> count_{0};
  detail::wait_queue waiters_;  // guarded by lock_
};

// Go's sync.Mutex: lock(), unlock(), try_lock(); satisfies Lockable, so std::lock_guard,
// std::unique_lock and std::scoped_lock work. Not recursive. Blocked lockers park (goroutines)
// or sleep (threads) and are served first come, first served: unlock() hands the mutex straight
// to the longest waiter. Memory ordering: an unlock() happens before the lock() it lets succeed.
// Like Go's, it is not tied to a goroutine: any goroutine or thread may unlock it.
class mutex {
 public:
  mutex() = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  void lock(std::source_location where = std::source_location::current()) {
    std::uint32_t expected = 0;
    // acquire: pairs with the release in unlock().
    if (state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire)) return;
    lock_slow(where);
  }
  bool try_lock() noexcept {
    std::uint32_t expected = 0;
    return state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire);
  }
  void unlock() {
    std::uint32_t expected = kLocked;
    // release: pairs with the acquire in lock()/try_lock().
    if (state_.compare_exchange_strong(expected, 0, std::memory_order_release)) return;
    unlock_slow();
  }

 private:
  static constexpr std::uint32_t kLocked = 1;
  static constexpr std::uint32_t kWaiters = 2;  // set while waiters_ is non-empty
  void lock_slow(const std::source_location& where);
  void unlock_slow();

  std::atomic<std::uint32_t> state_{0};
  detail::spinlock lock_;  // guards waiters_ and the kWaiters bit's meaning
  detail::wait_queue waiters_;
};

}  // namespace goro
