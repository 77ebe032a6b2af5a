// goro/once.hpp: Go's sync.Once, parking goroutines instead of threads.
#pragma once

#include <atomic>
#include <functional>
#include <utility>

#include "goro/source_location.hpp"
#include "goro/sync.hpp"

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro {

// Go's sync.Once: call(f) runs f the first time it is called on this object, and never again.
// Callers that arrive while the first f runs park (goroutines) or sleep (threads) until it
// returns; dumps show them as [sync.Mutex.Lock], as Go's do. Every call returns only once f
// has returned. After the first call the cost is one load.
//
// A throwing f, as a panicking f in Go: the once counts as done all the same, the exception
// propagates out of that first call(), and every other call (waiting or later) returns without
// running anything. A call(f) from inside f on the same once deadlocks, as in Go.
//
// Memory ordering: the return of the first f happens before every call() returns.
class once {
 public:
  constexpr once(goro::source_location created = goro::source_location::current()) noexcept
      : m_(created) {}
  once(const once&) = delete;
  once& operator=(const once&) = delete;

  template <class F>
  void call(F&& f, goro::source_location where = goro::source_location::current()) {
    // acquire: pairs with the release in call_slow(); f's effects are visible.
    if (done_.load(std::memory_order_acquire)) [[likely]]
      return;
    call_slow(std::forward<F>(f), where);
  }

 private:
  template <class F>
  // m_ is released by `finish`'s destructor, on return and on an exception alike, which the
  // thread-safety analysis does not follow.
  GORO_NO_THREAD_SAFETY_ANALYSIS void call_slow(F&& f, const goro::source_location& where) {
    m_.lock(where);
    if (done_.load(std::memory_order_relaxed)) {  // m_ orders us after the first call
      m_.unlock();
      return;
    }
    // Marks the once done and lets the others in, on return and on an exception alike.
    struct finish {
      once& o;
      ~finish() {
        // release: pairs with the acquire in call(); f happened before.
        o.done_.store(true, std::memory_order_release);
        o.m_.unlock();
      }
    } fin{*this};
    std::invoke(std::forward<F>(f));
  }

  std::atomic<bool> done_{false};
  mutex m_;
};

}  // namespace goro
#pragma GCC visibility pop
