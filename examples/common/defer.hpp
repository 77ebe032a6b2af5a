// examples::defer: Go's `defer f()` for one scope, as an RAII guard.
#pragma once

#include <utility>

namespace examples {

// Runs `f` when the guard goes out of scope. Guards in one scope run in reverse order of
// declaration, which is also the order Go runs a function's deferred calls in.
template <class F>
class defer {
 public:
  explicit defer(F f) : f_(std::move(f)) {}
  defer(const defer&) = delete;
  defer& operator=(const defer&) = delete;
  // noexcept(false): a goro::panic_error thrown by `f` (closing a closed channel, say) then
  // ends the program as a Go panic instead of calling std::terminate.
  ~defer() noexcept(false) { f_(); }

 private:
  F f_;
};

}  // namespace examples
