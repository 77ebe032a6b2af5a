// GORO_* environment variables (see env.hpp).
#include "base/env.hpp"

#include <cstdlib>
#include <cstring>

namespace goro::detail {

std::size_t env_size(const char* name) noexcept {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end;
  unsigned long long x = std::strtoull(v, &end, 10);
  return *end ? 0 : static_cast<std::size_t>(x);
}

bool env_flag(const char* name) noexcept {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

}  // namespace goro::detail
