// The monotonic clock (see clock.hpp).
#include "base/clock.hpp"

#include <ctime>

namespace goro::detail {

std::int64_t now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

}  // namespace goro::detail
