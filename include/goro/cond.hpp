// goro/cond.hpp: Go's sync.Cond on a goro::mutex, parking goroutines instead of threads.
#pragma once

#include <atomic>
#include <cstdint>

#include "goro/detail/spinlock.hpp"
#include "goro/source_location.hpp"
#include "goro/sync.hpp"

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro {

namespace detail {
struct cond_waiter;
}

// Go's sync.Cond: goroutines wait for a condition on state guarded by a mutex.
//
//   goro::mutex m;
//   goro::cond c(m);
//   std::unique_lock lock(m);
//   while (!ready) c.wait();   // m is held here again after each wait()
//
// wait() must be called with the mutex held: it unlocks it, parks until signal() or
// broadcast() wakes it, and locks it again before returning (blocking in the mutex's queue if
// need be), as Go's Cond.Wait. signal() wakes the goroutine that has waited longest, if any;
// broadcast() wakes all the waiting ones. Neither needs the mutex held, and a wait() that
// begins after a signal() is not woken by it. As in Go, a woken waiter must re-check its
// condition: another goroutine may have taken the mutex and changed the state first.
// Usable from goroutines and plain threads at once; dumps show a waiter as [sync.Cond.Wait].
//
// Memory ordering: what a goroutine did before signal() or broadcast() is visible to the
// waiters it wakes once their wait() returns (and, as always, an unlock() of the mutex happens
// before the lock() that follows it).
// May be destroyed whenever nobody waits on it.
class cond {
 public:
  explicit cond(mutex& m) noexcept : m_(m) {}
  cond(const cond&) = delete;
  cond& operator=(const cond&) = delete;

  void wait(goro::source_location where = goro::source_location::current());
  void signal() noexcept;
  void broadcast() noexcept;

 private:
  mutex& m_;
  detail::spinlock lock_;
  // Go's notifyList: every wait() takes a ticket (wait_ticket_++) while the caller still
  // holds the mutex; signal() wakes the holder of ticket notify_ticket_ and advances it,
  // broadcast() advances it to wait_ticket_. Written under lock_; atomic so that signal() and
  // broadcast() may see "no ticket outstanding" without the lock.
  std::atomic<std::uint32_t> wait_ticket_{0};
  std::atomic<std::uint32_t> notify_ticket_{0};
  detail::cond_waiter* head_ = nullptr;  // parked waiters, in the order they parked; lock_
  detail::cond_waiter* tail_ = nullptr;
};

}  // namespace goro
#pragma GCC visibility pop
