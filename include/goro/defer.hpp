// goro/defer.hpp: goro::defer, Go's `defer f()` for the scope it is declared in.
//
//   goro::go([&wg, ch] {
//     goro::defer done([&] { wg.done(); });  // Go: defer wg.Done()
//     goro::defer close_ch([&] { ch.close(); });  // Go: defer close(ch)
//     ...                                    // every way out runs close_ch, then done
//   });
//
// Invariants: the callable runs exactly once, when the guard is destroyed, on every way out of
// its scope (falling off the end, return, break, an exception); guards in one scope run in
// reverse order of declaration, the order Go runs a function's deferred calls in.
//
// Where it differs from Go:
//  - It belongs to a C++ scope, not to the function: a guard declared in a loop body runs at
//    the end of each iteration.
//  - Go evaluates a deferred call's arguments at the defer statement. Here that is what a
//    capture by value does; a capture by reference reads the variable when the call runs.
//  - There is no recover(); a callable that throws: see ~defer().
//  - A guard cannot be moved, copied or cancelled, as a Go defer cannot be taken back: to make
//    the call conditional, test the condition inside the callable.
#pragma once

#include <concepts>
#include <type_traits>
#include <utility>

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro {

// Runs f() when the guard goes out of scope. Name the guard: a temporary `goro::defer(f);`
// would run f at the end of its statement, and is a warning (nodiscard).
template <class F>
requires std::invocable<F&>
class defer {
 public:
  [[nodiscard("name the goro::defer: a temporary one runs f at once")]] explicit defer(
      F f) noexcept(std::is_nothrow_move_constructible_v<F>)
      : f_(std::move(f)) {}
  defer(const defer&) = delete;
  defer& operator=(const defer&) = delete;

  // noexcept(false), unlike a destructor by default: an exception from f() leaves the scope
  // like one thrown at its end, as a panic in a Go deferred call propagates. Escaping a
  // goroutine, it ends the program with goro's panic report (closing a closed channel, say),
  // where a noexcept destructor would call std::terminate. If the scope is already being left
  // by an exception, C++ allows no second one: a throwing f() then calls std::terminate.
  ~defer() noexcept(false) { f_(); }  // NOLINT(bugprone-exception-escape): on purpose, above

 private:
  F f_;
};

}  // namespace goro
#pragma GCC visibility pop
