// fastrand(): one state per thread, reached directly. The function is out of line, so its
// thread-local address is computed afresh on every call, whichever worker the caller runs on.
// A 64-bit LCG (Knuth's MMIX constants), its high half folded into the low one: a multiply and
// an add per call, no seeding branch (any start works; threads start apart by their state's
// address). Good enough for select's random order and the forced migration's target.
#include "base/random.hpp"

#include "goro/detail/core.hpp"

namespace goro::detail {

std::uint64_t fastrand() noexcept {
  static thread_local std::uint64_t r = 0;
  r = r * 6364136223846793005ull + (reinterpret_cast<std::uintptr_t>(&r) | 1);
  return r ^ (r >> 32);
}

}  // namespace goro::detail
