// src/base: reading the GORO_* environment variables, in one way everywhere.
#pragma once

#include <cstddef>

namespace goro::detail {

// The variable as an unsigned decimal number; 0 when unset, empty or not a number.
std::size_t env_size(const char* name) noexcept;
// Whether the variable is set to something other than "" or "0".
bool env_flag(const char* name) noexcept;

}  // namespace goro::detail
