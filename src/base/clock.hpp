// src/base: layer 0, platform code with no knowledge of goroutines. The monotonic clock and
// the saturating deadline arithmetic every timer, sleep and idle wait uses.
#pragma once

#include <cstdint>
#include <limits>

namespace goro::detail {

// CLOCK_MONOTONIC (std::chrono::steady_clock's clock), in ns.
std::int64_t now_ns() noexcept;

// A deadline that never comes: no timer, no sleep and no wait ends at it.
inline constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

// The deadline d ns after `now`, saturated: kNever when it cannot be represented, `now` when
// d <= 0. Every deadline in the runtime is computed with it.
constexpr std::int64_t deadline_after(std::int64_t now, std::int64_t d) noexcept {
  if (d <= 0) return now;
  return d >= kNever - now ? kNever : now + d;
}

}  // namespace goro::detail
