// Futex waits and wakes (see futex.hpp).
#include "base/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>

#include "base/clock.hpp"

namespace goro::detail {

namespace {

long futex(std::atomic<std::uint32_t>* w, int op, std::uint32_t val, const timespec* ts) noexcept {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(w), op | FUTEX_PRIVATE_FLAG, val, ts,
                 nullptr, 0);
}

}  // namespace

bool futex_wait_nonzero(std::atomic<std::uint32_t>* w, std::int64_t deadline) {
  // acquire: pairs with the waker's release store; its writes are visible once we see it.
  while (w->load(std::memory_order_acquire) == 0) {
    if (deadline == kNever) {
      futex(w, FUTEX_WAIT, 0, nullptr);
      continue;
    }
    std::int64_t left = deadline - now_ns();
    // acquire: as above.
    if (left <= 0) return w->load(std::memory_order_acquire) != 0;
    timespec ts{static_cast<time_t>(left / 1000000000), static_cast<long>(left % 1000000000)};
    futex(w, FUTEX_WAIT, 0, &ts);
  }
  return true;
}

void futex_wake_one(std::atomic<std::uint32_t>* w) noexcept { futex(w, FUTEX_WAKE, 1, nullptr); }

}  // namespace goro::detail
