// A failed GORO_DCHECK (see check.hpp): one write(2), then abort.
#include "base/check.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace goro::detail {

void dcheck_failed(const char* cond, const char* file, int line) noexcept {
  char buf[512];
  int n = std::snprintf(buf, sizeof buf, "goro: internal check failed at %s:%d: %s\n", file, line,
                        cond);
  if (n > 0) {
    ssize_t w = ::write(2, buf, static_cast<std::size_t>(n) < sizeof buf ? n : sizeof buf - 1);
    static_cast<void>(w);
  }
  std::abort();
}

}  // namespace goro::detail
