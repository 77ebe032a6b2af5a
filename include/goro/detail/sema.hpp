// goro/detail/sema.hpp: a counting semaphore that parks, Go's runtime semaphore (sema.go's
// semacquire/semrelease), which rwmutex is built on. Not API.
//
// Invariants (all under lock_): waiters_ is non-empty only while count_ is 0; release() hands
// each unit it adds straight to the longest waiter, so a woken acquirer owns its unit when
// park() returns and nobody can take it in between.
#pragma once

#include <cstdint>

#include "goro/detail/core.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/source_location.hpp"

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro::detail {

class sema {
 public:
  constexpr explicit sema(std::uint32_t count) noexcept : count_(count) {}
  sema(const sema&) = delete;
  sema& operator=(const sema&) = delete;

  // Takes one unit; blocks (parked for `why`) until one is released to the caller.
  // Memory ordering: the release() that provides the unit happens before this returns.
  void acquire(wait_reason why, const goro::source_location& where);
  // Takes one unit if one is free; never blocks.
  bool try_acquire() noexcept;
  // Adds n units: the first ones go to the longest waiters (FIFO), the rest are kept.
  void release(std::uint32_t n = 1) noexcept;

 private:
  spinlock lock_;
  std::uint32_t count_;  // guarded by lock_
  wait_queue waiters_;   // guarded by lock_
};

}  // namespace goro::detail
#pragma GCC visibility pop
