// tests/userflags/check.hpp: the one helper the user-flags programs share.
//
// These programs are written the way users write goro code, not the way goro's own tests are:
// no test framework, no goro internals, only <goro/goro.hpp> and the standard library. A failed
// check prints where and ends the program with exit status 1, so each binary is its own ctest
// test.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <goro/source_location.hpp>

namespace userflags {

inline void check(bool ok, const char* what,
                  goro::source_location where = goro::source_location::current()) {
  if (ok) return;
  std::fprintf(stderr, "%s:%u: check failed: %s\n", where.file_name(),
               static_cast<unsigned>(where.line()), what);
  // Not std::exit(): it runs static destructors while other workers may still run goroutines.
  std::fflush(nullptr);
  std::_Exit(1);
}

}  // namespace userflags
