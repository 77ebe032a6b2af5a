// Closing a channel (the part of the algorithm that does not depend on T).
#include "goro/chan.hpp"

namespace goro::detail {

void chan_base::close() {
  lock_.lock();
  if (closed_.load(std::memory_order_relaxed)) {
    lock_.unlock();
    throw_panic("close of closed channel");
  }
  closed_.store(true, std::memory_order_release);
  // Dequeue every waiter under the lock, wake them after releasing it. Receivers get "closed"
  // (nothing constructed in their slot), senders get "closed" and throw.
  waiter* wake = nullptr;
  waiter** tail = &wake;
  for (wait_queue* q : {&recvq_, &sendq_}) {
    while (waiter* w = q->pop()) {
      w->success = false;
      *tail = w;
      tail = &w->next;
    }
  }
  *tail = nullptr;
  lock_.unlock();
  while (wake) {
    waiter* next = wake->next;  // read before unpark: the waiter may vanish right after
    unpark(wake->who);
    wake = next;
  }
}

}  // namespace goro::detail
