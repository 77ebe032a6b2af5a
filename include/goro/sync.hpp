// goro/sync.hpp: Go's sync.WaitGroup and sync.Mutex, parking goroutines instead of threads.
//
// Invariants a user can rely on: a wait_group with counter zero and a mutex that is unlocked
// may be destroyed at any time (each remembers only where it was created); destroying one
// that is still in use ends the program like an unrecovered panic (docs/diagnostics.md).
#pragma once

#include <atomic>
#include <cstdint>

#include "goro/detail/core.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/detail/thread_annotations.hpp"
#include "goro/source_location.hpp"

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro {

// Go's sync.WaitGroup. add(n) before starting the work, done() once per finished piece,
// wait() blocks until the counter is zero. Usable from goroutines and plain threads at once.
// Memory ordering: every done() happens before the wait() it releases returns.
// Like std::latch, it may be destroyed as soon as wait() returns, even while the done() that
// released it is still running.
//
// Lifetime: Go's closure over a local WaitGroup does not port literally. In Go the closure
// keeps the WaitGroup alive; in C++ a goroutine that captured a local wait_group by reference
// uses a dead object once the function returns. Destroying a wait_group whose counter is not
// zero (goroutines still to call done(), or blocked in wait()) therefore ends the program:
//   panic: goro::wait_group destroyed with counter 2 (created at file.cpp:12)
//   panic: goro::wait_group destroyed with counter 1 and waiters (created at file.cpp:12)
// then the goroutine dump, exit status 2. What works:
//   - the function that add()s also wait()s before it returns (the wait_group lives in the
//     goroutine that waits), or
//   - the goroutines share ownership:
//       auto wg = std::make_shared<goro::wait_group>();
//       wg->add(1);
//       goro::go([wg] { work(); wg->done(); });
//       return wg;  // whoever waits holds a reference too
// The creation site is the defaulted argument: where the constructor is called (for a member,
// the enclosing class's constructor; through std::make_shared, inside the standard library).
class wait_group {
 public:
  // Not explicit: `goro::wait_group wg = {};` and `std::array<goro::wait_group, 4> a{};` work.
  constexpr wait_group(goro::source_location created = goro::source_location::current()) noexcept
      : created_line_(created.line()), created_file_(created.file_name()) {}
  wait_group(const wait_group&) = delete;
  wait_group& operator=(const wait_group&) = delete;
  // One load when the counter is zero. relaxed: whoever destroys a wait_group legitimately is
  // ordered after the last add() already (by wait(), which takes lock_ after the counter
  // reached zero, or by its own synchronization with the last done()); a destroy that races
  // with add() is the bug being reported, and any non-zero value it reads is evidence enough.
  ~wait_group() {
    const std::int64_t c = count_.load(std::memory_order_relaxed);
    if (c != 0) [[unlikely]]
      destroyed_in_use(c);
  }

  // Adds delta (may be negative). Throws panic_error("sync: negative WaitGroup counter") if the
  // counter would drop below zero. Reaching zero wakes every waiter.
  void add(int delta);
  void done() { add(-1); }
  // Blocks until the counter is zero (returns at once if it is).
  void wait(goro::source_location where = goro::source_location::current());

 private:
  [[noreturn]] void destroyed_in_use(std::int64_t count) const noexcept;

  detail::spinlock lock_;
  // The creation site, for the destroyed-in-use panic only (file and line, the rest of a
  // source_location unused: the line sits in lock_'s padding).
  std::uint_least32_t created_line_;
  std::atomic<std::int64_t> count_{0};
  detail::wait_queue waiters_ GORO_GUARDED_BY(lock_);
  const char* created_file_;
};

// Go's sync.Mutex: lock(), unlock(), try_lock(); satisfies Lockable, so std::lock_guard,
// std::unique_lock and std::scoped_lock work. Not recursive. Blocked lockers park (goroutines)
// or sleep (threads) and are served first come, first served: unlock() hands the mutex straight
// to the longest waiter. Memory ordering: an unlock() happens before the lock() it lets succeed.
// Like Go's, it is not tied to a goroutine: any goroutine or thread may unlock it.
//
// Clang's thread-safety analysis (-Wthread-safety): a mutex is a capability, so fields marked
// __attribute__((guarded_by(mu))) (or a macro library's GUARDED_BY(mu)) are checked against
// mu.lock() and mu.unlock(). The analysis follows one function: a mutex locked by one goroutine
// and unlocked by another, as Go allows, needs no_thread_safety_analysis on both. libstdc++'s
// std::lock_guard carries no annotations (libc++'s does, with
// _LIBCPP_ENABLE_THREAD_SAFETY_ANNOTATIONS), so there use a guard class that does.
//
// Lifetime: destroying a mutex that is locked (held, or held and waited on) ends the program
// like a panic, as for wait_group above:
//   panic: goro::mutex destroyed while locked (created at file.cpp:12)
//   panic: goro::mutex destroyed while locked and waited on (created at file.cpp:12)
// This includes a global mutex still locked when the program exits and static destructors
// run; one that may be (a goroutine parked holding it) is best never destroyed:
// `goro::mutex& m = *new goro::mutex;`.
class GORO_CAPABILITY("mutex") mutex {
 public:
  // Not explicit, for the same reason as wait_group's. constexpr: a global mutex is
  // constant-initialized.
  constexpr mutex(goro::source_location created = goro::source_location::current()) noexcept
      : created_line_(created.line()), created_file_(created.file_name()) {}
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;
  // One load when unlocked. relaxed: a legitimate destroyer is ordered after the last
  // unlock() by its own synchronization; a destroy racing with lock() is the bug reported.
  ~mutex() {
    const std::uint32_t s = state_.load(std::memory_order_relaxed);
    if (s != 0) [[unlikely]]
      destroyed_locked(s);
  }

  void lock(goro::source_location where = goro::source_location::current()) GORO_ACQUIRE() {
    std::uint32_t expected = 0;
    // acquire: pairs with the release in unlock().
    if (state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire)) return;
    lock_slow(where);
  }
  bool try_lock() noexcept GORO_TRY_ACQUIRE(true) {
    std::uint32_t expected = 0;
    // acquire: pairs with unlock()'s release.
    return state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire);
  }
  void unlock() GORO_RELEASE() {
    std::uint32_t expected = kLocked;
    // release: pairs with the acquire in lock()/try_lock().
    if (state_.compare_exchange_strong(expected, 0, std::memory_order_release)) return;
    unlock_slow();
  }

 private:
  static constexpr std::uint32_t kLocked = 1;
  static constexpr std::uint32_t kWaiters = 2;  // set while waiters_ is non-empty
  void lock_slow(const goro::source_location& where);
  void unlock_slow();
  [[noreturn]] void destroyed_locked(std::uint32_t state) const noexcept;

  std::atomic<std::uint32_t> state_{0};
  std::uint_least32_t created_line_;  // the creation site, for the destroyed-while-locked
  detail::spinlock lock_;             // panic only (with created_file_); lock_ guards waiters_
  detail::wait_queue waiters_ GORO_GUARDED_BY(lock_);  // and the kWaiters bit's meaning
  const char* created_file_;
};

}  // namespace goro
#pragma GCC visibility pop
