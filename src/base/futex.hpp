// src/base: a 32-bit word to sleep on until another thread sets it (Linux futex, private).
#pragma once

#include <atomic>
#include <cstdint>

namespace goro::detail {

// Waits until *w != 0 or `deadline` (steady ns, base/clock.hpp; kNever = no limit). Returns
// false on timeout. Pairs with a release store of a non-zero value followed by futex_wake_one().
bool futex_wait_nonzero(std::atomic<std::uint32_t>* w, std::int64_t deadline);

// Wakes one thread waiting on w (after the caller stored a non-zero value).
void futex_wake_one(std::atomic<std::uint32_t>* w) noexcept;

}  // namespace goro::detail
