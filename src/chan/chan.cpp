// Closing a channel (the part of the algorithm that does not depend on T).
#include "goro/chan.hpp"

namespace goro::detail {

void chan_base::close() {
  lock_.lock();
  if (closed_.load(std::memory_order_relaxed)) {
    lock_.unlock();
    throw_panic("close of closed channel");
  }
  // release: more than needed, since every reader that acts on closed_ holds the lock (the
  // lock-free peeks only ever conclude "not ready" from it); kept so that no future peek can
  // see the channel closed without what happened before the close.
  closed_.store(true, std::memory_order_release);
  // Dequeue the waiters under the lock, 64 at a time, and wake each batch after releasing it.
  // Receivers get "closed" (nothing constructed in their slot), senders get "closed" and throw.
  // Only the parkers are kept: a waiter (on its goroutine's stack, cold) is touched once, and
  // after the lock is released it may vanish. Releasing the lock between batches is safe: the
  // channel is closed, so nobody queues behind us; the waiters still queued are ours to wake
  // (a receive ignores senders queued on a closed channel, see recv_typed, and a select that
  // completes elsewhere meanwhile dequeues its own waiter, under the lock).
  constexpr int kBatch = 64;
  for (;;) {
    parker* wake[kBatch];
    int n = 0;
    for (wait_queue* q : {&recvq_, &sendq_}) {
      while (n < kBatch) {
        waiter* w = q->pop();
        if (!w) break;
        w->success = false;
        wake[n++] = w->who;
      }
    }
    lock_.unlock();
    for (int i = 0; i < n; i++) unpark(wake[i]);
    if (n < kBatch) return;
    lock_.lock();
  }
}

}  // namespace goro::detail
