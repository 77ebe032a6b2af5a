// Spinning that gives the core away after a while (declared in goro/detail/spinlock.hpp).
#include <sched.h>

#include "goro/detail/spinlock.hpp"

namespace goro::detail {

void spin_pause_slow(unsigned& spins) noexcept {
  if (++spins < 64) {
    spin_pause();
  } else {
    sched_yield();  // the holder may have been preempted; on 2 vCPUs spinning would not help
  }
}

}  // namespace goro::detail
