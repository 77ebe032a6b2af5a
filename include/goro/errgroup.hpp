// goro/errgroup.hpp: golang.org/x/sync/errgroup's Group: goroutines working on parts of one
// task, the first failure reported by wait() and, with a context, cancelling the rest.
#pragma once

#include <atomic>
#include <exception>
#include <functional>
#include <system_error>
#include <type_traits>
#include <utility>

#include "goro/chan.hpp"
#include "goro/context.hpp"
#include "goro/errors.hpp"
#include "goro/runtime.hpp"
#include "goro/source_location.hpp"
#include "goro/sync.hpp"

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro {

// x/sync's errgroup.Group.
//
//   goro::errgroup g(parent);                 // Go: g, ctx := errgroup.WithContext(parent)
//   for (auto& url : urls)
//     g.go([&, ctx = g.ctx()] { fetch(ctx, url); });   // a task fails by throwing
//   g.wait();                                 // rethrows the first task's exception
//
// A task is a callable taking no arguments. It fails by throwing (any exception), or, for a
// task returning std::error_code, by returning a non-zero one (wait() then throws it as a
// std::system_error): Go's non-nil error. The first failure is kept; the group's context, if
// it has one, is cancelled with that exception as its cause(). A goro::panic_error escaping a
// task (send on a closed channel, say) is not a failure but a panic, and ends the program as
// it does in Go.
//
// Lifetime: tasks refer to the group, so wait() must return before the group is destroyed;
// destroying it with tasks still running ends the program (the panic of a wait_group destroyed
// in use, naming where the group was created).
// Memory ordering: everything a task did happens before wait() returns.
class errgroup {
 public:
  // A group without a context: ctx() is background(), never cancelled. Go's zero Group.
  errgroup(goro::source_location created = goro::source_location::current());
  // Go's WithContext: ctx() is a child of parent, cancelled by the first failure (cause():
  // the task's exception) or when wait() returns (cause(): context canceled), whichever comes
  // first.
  explicit errgroup(const context& parent,
                    goro::source_location created = goro::source_location::current());
  errgroup(const errgroup&) = delete;
  errgroup& operator=(const errgroup&) = delete;

  context ctx() const { return ctx_; }

  // Runs f in a new goroutine. At the limit (set_limit) blocks until a running task ends
  // (parked for [chan send], as Go's).
  template <class F>
  void go(F&& f, goro::source_location where = goro::source_location::current()) {
    if (sem_) sem_.send(signal{}, where);
    start(std::forward<F>(f), where);
  }
  // Runs f in a new goroutine unless the group is at its limit; false then. Never blocks.
  template <class F>
  bool try_go(F&& f, goro::source_location where = goro::source_location::current()) {
    if (sem_ && sem_.try_send(signal{}) != status::ok) return false;
    start(std::forward<F>(f), where);
    return true;
  }
  // At most n tasks run at once from now on; n < 0: no limit. Must not be called while tasks
  // run: it throws panic_error("errgroup: modify limit while N goroutines in the group are
  // still active") then, as Go panics. A limit of 0 makes every go() block for ever.
  void set_limit(int n);
  // Blocks until every task started so far has returned (parked for [semacquire]), cancels
  // the context, then rethrows the first failure, if any (every wait() after it too).
  void wait(goro::source_location where = goro::source_location::current());

 private:
  template <class F>
  void start(F&& f, const goro::source_location& where);
  void fail(std::exception_ptr e) noexcept;
  void task_done() noexcept;
  void untake() noexcept;  // a task that could not be started gives its slot back

  wait_group wg_;
  chan<signal> sem_;  // one value per running task, capacity = the limit; nil: no limit
  context ctx_;
  cancel_cause_func cancel_;  // cancels nothing for a group without a context
  std::atomic<bool> failed_{false};
  std::exception_ptr err_;  // the first failure: written once, by the failed_ winner
};

template <class F>
void errgroup::start(F&& f, const goro::source_location& where) {
  wg_.add(1);
  try {
    goro::go(
        [this, fn = std::decay_t<F>(std::forward<F>(f))]() mutable {
          try {
            if constexpr (std::is_same_v<std::invoke_result_t<decltype(fn)&>, std::error_code>) {
              if (const std::error_code ec = std::invoke(fn))
                fail(std::make_exception_ptr(std::system_error(ec)));
            } else {
              std::invoke(fn);
            }
          } catch (const panic_error&) {
            throw;  // a runtime panic ends the program, as in Go
          } catch (...) {
            fail(std::current_exception());
          }
          task_done();  // the last use of *this: wait() may return and the group go
        },
        where);
  } catch (...) {
    untake();
    throw;
  }
}

}  // namespace goro
#pragma GCC visibility pop
