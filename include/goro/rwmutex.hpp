// goro/rwmutex.hpp: Go's sync.RWMutex, parking goroutines instead of threads.
#pragma once

#include <atomic>
#include <cstdint>

#include "goro/detail/sema.hpp"
#include "goro/detail/thread_annotations.hpp"
#include "goro/source_location.hpp"
#include "goro/sync.hpp"

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro {

// Go's sync.RWMutex: any number of readers (lock_shared) or one writer (lock). Satisfies
// SharedLockable and Lockable, so std::shared_lock, std::unique_lock, std::lock_guard and
// std::scoped_lock work. Usable from goroutines and plain threads at once; blocked callers
// park (goroutines) or sleep (threads), and dumps show them as [sync.RWMutex.Lock] (a writer
// waiting for the readers inside to leave) or [sync.RWMutex.RLock], and as [sync.Mutex.Lock]
// a writer queued behind another writer, as Go's do (its writers queue on a sync.Mutex).
//
// Writer preference, as in Go: once lock() is called, new readers block until that writer
// has had the lock, so a stream of readers cannot starve a writer; when the writer unlocks,
// the readers that were held back go first, before the next writer. Not recursive: a reader
// that calls lock_shared() again while a writer waits deadlocks, as in Go.
//
// Memory ordering: an unlock() happens before every later lock() and lock_shared() that
// succeeds; an unlock_shared() happens before the next lock() that succeeds.
// Like Go's, it is not tied to a goroutine: any goroutine or thread may unlock it. It may be
// destroyed whenever it is unlocked and nobody waits on it.
class rwmutex {
 public:
  constexpr rwmutex() noexcept = default;
  rwmutex(const rwmutex&) = delete;
  rwmutex& operator=(const rwmutex&) = delete;

  // Blocks until the caller holds the lock alone. Go's Lock.
  // (No thread-safety analysis on these three: the writers' mutex is held from lock() to
  // unlock(), across calls the analysis sees separately.)
  GORO_NO_THREAD_SAFETY_ANALYSIS void lock(
      goro::source_location where = goro::source_location::current()) {
    writer_.lock(where);
    // Announce the writer; r readers are inside. acq_rel: the acquire pairs with the release
    // of readers that left before (unlock_shared()), whose writes are then visible; the
    // release publishes nothing a reader relies on but keeps this RMW ordered before
    // departing_'s (lock_slow()).
    const std::int32_t r = readers_.fetch_add(-kMaxReaders, std::memory_order_acq_rel);
    if (r != 0) [[unlikely]]
      lock_slow(r, where);
  }
  // Takes the lock alone if nobody holds it in either mode; never blocks. Go's TryLock.
  GORO_NO_THREAD_SAFETY_ANALYSIS bool try_lock() noexcept;
  // Releases the lock taken by lock(). Throws panic_error("sync: Unlock of unlocked RWMutex")
  // if no writer holds it (Go's text; Go makes it an unrecoverable fatal error).
  GORO_NO_THREAD_SAFETY_ANALYSIS void unlock() {
    // release: pairs with the acquire of the readers' fetch_add in lock_shared(), and through
    // reader_wait_ with the readers released in unlock_slow().
    const std::int32_t r = readers_.fetch_add(kMaxReaders, std::memory_order_release) + kMaxReaders;
    if (r != 0) [[unlikely]]
      unlock_slow(r);  // readers held back, or no writer was in
    writer_.unlock();
  }

  // Blocks while a writer holds the lock or waits for it. Go's RLock.
  void lock_shared(goro::source_location where = goro::source_location::current()) {
    // acquire: pairs with the release in unlock(); the last writer's writes are visible.
    if (readers_.fetch_add(1, std::memory_order_acquire) < 0) [[unlikely]]
      lock_shared_slow(where);
  }
  // Takes a read lock if no writer holds or waits for the lock; never blocks. Go's TryRLock.
  bool try_lock_shared() noexcept {
    std::int32_t c = readers_.load(std::memory_order_relaxed);
    while (c >= 0) {
      // acquire: as in lock_shared().
      if (readers_.compare_exchange_weak(c, c + 1, std::memory_order_acquire,
                                         std::memory_order_relaxed))
        return true;
    }
    return false;
  }
  // Releases one read lock. Throws panic_error("sync: RUnlock of unlocked RWMutex") if no
  // reader holds it.
  void unlock_shared() {
    // release: pairs with the acquire in lock(), which waits for the readers that were in.
    const std::int32_t r = readers_.fetch_sub(1, std::memory_order_release) - 1;
    if (r < 0) [[unlikely]]
      unlock_shared_slow(r);
  }

 private:
  // A writer subtracts this from readers_ to announce itself (Go's rwmutexMaxReaders).
  static constexpr std::int32_t kMaxReaders = 1 << 30;

  void lock_slow(std::int32_t r, const goro::source_location& where);
  void unlock_slow(std::int32_t r);
  void lock_shared_slow(const goro::source_location& where);
  void unlock_shared_slow(std::int32_t r);

  // Go's algorithm (sync/rwmutex.go), on a goro::mutex and goro's semaphores:
  //  readers_: readers inside or waiting to enter, minus kMaxReaders while a writer holds the
  //   lock or waits for the readers inside to leave (negative exactly then).
  //  departing_: readers the announced writer still waits for.
  mutex writer_;                 // held by the one writer (waiting or inside): writers queue here
  detail::sema writer_wait_{0};  // the announced writer waits here for the last departing reader
  detail::sema reader_wait_{0};  // readers held back by a writer wait here
  std::atomic<std::int32_t> readers_{0};
  std::atomic<std::int32_t> departing_{0};
};

}  // namespace goro
#pragma GCC visibility pop
