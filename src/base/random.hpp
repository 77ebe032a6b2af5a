// src/base: cheap random numbers for scheduling decisions (not for anything secret).
#pragma once

#include <cstdint>

namespace goro::detail {

// One step of a xorshift generator over state s (never 0): a worker's private stream.
inline std::uint64_t xorshift(std::uint64_t& s) noexcept {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

// fastrand() (a per-thread stream) is declared in goro/detail/core.hpp: select() uses it.

}  // namespace goro::detail
