// rwmutex: Go's sync.RWMutex algorithm on a goro::mutex (the writers' queue, with its
// compare-and-swap fast path, as Go's rw.w) and detail::sema (goro/rwmutex.hpp has the fields).
//
// Invariants:
//  - writer_ serializes writers: it is held from a lock() until the matching unlock(), so at most
//  one writer is announced (readers_ < 0) at a time.
//  - While a writer is announced, readers_ + kMaxReaders counts the readers inside plus those
//    held back on reader_wait_. The writer's announcement moved the count of readers then
//    inside into departing_ (the writer's fetch_add and the departing readers' fetch_sub meet
//    at zero exactly once); whoever brings departing_ to zero lets the writer in.
//  - unlock() releases exactly the readers it held back (the count it reads back), before it
//    lets the next writer in, so readers and writers alternate under contention.
#include "goro/rwmutex.hpp"

#include "goro/errors.hpp"

namespace goro {

void rwmutex::lock_slow(std::int32_t r, const goro::source_location& where) {
  // r readers were inside when lock() announced the writer. acq_rel: pairs with the departing
  // readers' fetch_sub; a result of zero means they all left.
  if (departing_.fetch_add(r, std::memory_order_acq_rel) + r != 0)
    writer_wait_.acquire(detail::wait_reason::rwmutex_lock, where);
}

bool rwmutex::try_lock() noexcept {
  if (!writer_.try_lock()) return false;
  std::int32_t expected = 0;
  // acquire: as in lock(); only with no reader inside or waiting.
  if (!readers_.compare_exchange_strong(expected, -kMaxReaders, std::memory_order_acquire)) {
    writer_.unlock();
    return false;
  }
  return true;
}

void rwmutex::unlock_slow(std::int32_t r) {
  // r is the reader count unlock() brought back: readers it held back, or, kMaxReaders or
  // more, no writer was in.
  if (r >= kMaxReaders) {
    readers_.fetch_sub(kMaxReaders, std::memory_order_relaxed);  // undo: no writer was in
    throw panic_error("sync: Unlock of unlocked RWMutex");
  }
  reader_wait_.release(static_cast<std::uint32_t>(r));
}

void rwmutex::lock_shared_slow(const goro::source_location& where) {
  // A writer is announced; its unlock() releases one unit for each reader it held back.
  reader_wait_.acquire(detail::wait_reason::rwmutex_rlock, where);
}

void rwmutex::unlock_shared_slow(std::int32_t r) {
  if (r + 1 == 0 || r + 1 == -kMaxReaders) {
    readers_.fetch_add(1, std::memory_order_relaxed);  // undo: no reader was in
    throw panic_error("sync: RUnlock of unlocked RWMutex");
  }
  // A writer waits for the readers inside: the last one to leave lets it in. acq_rel: the
  // release side publishes this reader's critical section to the writer (with the sema's
  // lock), the acquire side orders it after the other departing readers'.
  if (departing_.fetch_sub(1, std::memory_order_acq_rel) == 1) writer_wait_.release();
}

}  // namespace goro
