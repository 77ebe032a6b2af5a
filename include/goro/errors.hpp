// goro/errors.hpp: the exception type of Go's runtime panics.
#pragma once

#include <stdexcept>

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro {

// Thrown by the runtime where Go panics: send on a closed channel, close of a closed or nil
// channel, a negative wait_group counter, unlock of an unlocked mutex. `what()` is Go's panic text.
// If it escapes a goroutine, the program ends like a Go panic (docs/diagnostics.md shows the
// report).
class panic_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

}  // namespace goro
#pragma GCC visibility pop
