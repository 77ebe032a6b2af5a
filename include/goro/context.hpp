// goro/context.hpp: Go's context package. A context carries a cancellation signal, a deadline
// and request-scoped values down a tree: cancelling a context cancels every context derived
// from it, never its parent.
//
//   auto [ctx, cancel] = goro::with_timeout(parent, 100ms);
//   goro::defer release([&] { cancel(); });        // Go: defer cancel()
//   goro::select(goro::on_recv(ctx.done(), [&] { fail(ctx.err()); }),
//                goro::on_recv(results, [&](std::optional<int> v) { use(*v); }));
//
// Memory ordering: whatever a goroutine did before it cancelled a context (by its cancel
// function, or an expiring deadline) happens before a receive from that context's done()
// channel returns, and before err() returns non-zero, in every context it cancels. Usable from
// goroutines and plain threads at once; nothing here blocks except a receive on done().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>
#include <version>
#if defined(__cpp_lib_jthread)  // not in libc++ 19, where it is experimental
#include <stop_token>
#endif

#include "goro/chan.hpp"
#include "goro/time.hpp"

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro {

// Why a context is done: err() returns one of these, in the error category "context", whose
// messages are Go's: "context canceled", "context deadline exceeded".
enum class context_errc { canceled = 1, deadline_exceeded };
const std::error_category& context_category() noexcept;
inline std::error_code make_error_code(context_errc e) noexcept {
  return {static_cast<int>(e), context_category()};
}

}  // namespace goro

template <>
struct std::is_error_code_enum<goro::context_errc> : std::true_type {};

namespace goro {

namespace detail {

// What context, its cancel functions and after_func's stop function hold a counted reference
// to (src/context/node.hpp has the kinds). The last release disposes of the object, which
// hands back the reference it held on its own parent, released in turn: a long chain goes
// without recursion.
struct ctx_obj {
  std::atomic<std::uint32_t> refs{1};
  // Destroys *this; returns the object whose reference *this held (its parent), or null.
  virtual ctx_obj* dispose() noexcept = 0;

 protected:
  ~ctx_obj() = default;
};
void ctx_dispose_chain(ctx_obj* o) noexcept;

// A counted reference to a ctx_obj (null allowed).
class ctx_ref {
 public:
  ctx_ref() noexcept = default;
  explicit ctx_ref(ctx_obj* adopted) noexcept : p_(adopted) {}  // takes over a reference
  ctx_ref(const ctx_ref& o) noexcept : p_(o.p_) {
    // relaxed: a new reference made from one that keeps the object alive.
    if (p_) p_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  ctx_ref(ctx_ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  ctx_ref& operator=(ctx_ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~ctx_ref() {
    // acq_rel: the last owner sees every other owner's writes before disposing. The NOLINT:
    // every constructor sets p_, but clang 14's analyzer loses it through a std::pair returned
    // by value (with_cancel and the like).
    // NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Branch)
    if (p_ && p_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) ctx_dispose_chain(p_);
  }
  ctx_obj* get() const noexcept { return p_; }

 private:
  ctx_obj* p_ = nullptr;
};

struct ctx_access;
const void* ctx_value(const ctx_obj* node, const void* key) noexcept;
ctx_ref ctx_with_value(const ctx_ref& parent, const void* key, std::shared_ptr<const void> value);
ctx_ref ctx_after_func(const ctx_ref& ctx, std::shared_ptr<void> f, void (*call)(void*),
                       const goro::source_location& where);

}  // namespace detail

// A key for context values of type T: its identity is its address, so declare one object per
// key, at namespace scope (`inline const goro::context_key<std::string> request_id;`). Only a
// key of type context_key<T> finds a value, and the value is a T: there is no cast to get wrong.
template <class T>
class context_key {
 public:
  constexpr context_key() noexcept = default;
  context_key(const context_key&) = delete;
  context_key& operator=(const context_key&) = delete;
};

// Go's context.Context. Cheap to copy (a counted reference; copies are the same context);
// default-constructed, it is background(): never cancelled, no deadline, no values.
class context {
 public:
  context() noexcept = default;

  // A channel closed when the context is cancelled (receives return at once from then on);
  // nil, so never ready, for a context that can never be cancelled (background(),
  // without_cancel()). Works in select like any channel. Allocates a channel on the first
  // call for a context that is not done yet.
  // The channel is returned by reference, valid while this context object refers to the same
  // context (until it is destroyed or assigned to): a select on ctx.done() touches no shared
  // count, which a copy would (two contended atomics per call in a parallel loop). Copy it
  // (`recv_chan<signal> d = ctx.done();`) to keep it longer. On a temporary context it
  // returns a copy, so `with_cancel(p).first.done()` cannot dangle.
  const recv_chan<signal>& done() const&;
  recv_chan<signal> done() const&& { return static_cast<const context&>(*this).done(); }
  // {} until the context is done; then context_errc::canceled or
  // context_errc::deadline_exceeded, and the same for ever after.
  std::error_code err() const noexcept;
  // When the context will be cancelled by a deadline (its own or an ancestor's), if ever.
  std::optional<time_point> deadline() const noexcept;
  // The value with_value() gave `key` in this context or the nearest ancestor that has one;
  // null if none. The value lives as long as some context that holds it.
  template <class T>
  const T* value(const context_key<T>& key) const noexcept {
    return static_cast<const T*>(detail::ctx_value(node_.get(), &key));
  }
  // A std::stop_token whose stop is requested when this context is done (at once if it
  // already is): for code written against std::jthread's cancellation. A token with
  // stop_possible() false for a context that can never be cancelled. The token's
  // std::stop_callbacks run in whatever cancels the context (a cancel function's caller, or
  // a goroutine of the runtime for a deadline), like any std::stop_source's. (With a standard
  // library that has std::stop_token: __cpp_lib_jthread.)
#if defined(__cpp_lib_jthread)
  std::stop_token stop_token() const;
#endif

 private:
  friend struct detail::ctx_access;
  explicit context(detail::ctx_ref n) noexcept : node_(std::move(n)) {}
  detail::ctx_ref node_;  // null: background
};

// Cancels its context (and every context derived from it) with context_errc::canceled, and
// detaches it from its parent. Idempotent; never blocks; may be called from any goroutine or
// thread, concurrently. Cheap to copy: copies cancel the same context. Go's CancelFunc.
class cancel_func {
 public:
  cancel_func() noexcept = default;  // cancels nothing
  void operator()() const noexcept;

 private:
  friend struct detail::ctx_access;
  explicit cancel_func(detail::ctx_ref n) noexcept : node_(std::move(n)) {}
  detail::ctx_ref node_;
};

// As cancel_func, with a cause that cause() reports (nullptr: the default, see cause()). The
// first cancellation wins: later calls, with or without a cause, change nothing. Go's
// CancelCauseFunc.
class cancel_cause_func {
 public:
  cancel_cause_func() noexcept = default;
  void operator()(const std::exception_ptr& cause = nullptr) const noexcept;

 private:
  friend struct detail::ctx_access;
  explicit cancel_cause_func(detail::ctx_ref n) noexcept : node_(std::move(n)) {}
  detail::ctx_ref node_;
};

// Go's context.Background(): never cancelled, no deadline, no values. And context.TODO().
context background() noexcept;
context todo() noexcept;

// Go's WithCancel: a child of parent with its own cancel function. The child is done when
// cancel() is called or parent is done, whichever happens first (at once if parent already is;
// err() and cause() are then the parent's). Call cancel once the child's work is over: it
// detaches the child from its parent at once. A child dropped without a cancel leaves its
// parent when its last handle goes, unless its done() channel or stop_token() was handed out:
// then it stays registered (so that their holders see the parent's cancel) until it is done.
std::pair<context, cancel_func> with_cancel(const context& parent);
// Go's WithCancelCause: the same, with a cancel function that records a cause.
std::pair<context, cancel_cause_func> with_cancel_cause(const context& parent);
// Go's WithDeadline: as with_cancel, and also cancelled with context_errc::deadline_exceeded at
// d, through a runtime timer (not later than the parent's own deadline: a parent's earlier
// deadline makes this a plain with_cancel). A deadline already past cancels it at once.
std::pair<context, cancel_func> with_deadline(const context& parent, time_point d);
// Go's WithTimeout: with_deadline(parent, now + timeout).
std::pair<context, cancel_func> with_timeout(const context& parent,
                                             std::chrono::nanoseconds timeout);
// Go's WithDeadlineCause / WithTimeoutCause: as above, and cause() reports `cause` when the
// deadline is what cancelled the context.
std::pair<context, cancel_func> with_deadline_cause(const context& parent, time_point d,
                                                    std::exception_ptr cause);
std::pair<context, cancel_func> with_timeout_cause(const context& parent,
                                                   std::chrono::nanoseconds timeout,
                                                   std::exception_ptr cause);

// A child of parent that std::stop_token `token` also cancels (context_errc::canceled) when a
// stop is requested on it, at once if one already was: code that holds a std::jthread's token
// can hand its work to goroutines that select on ctx.done(). cancel() detaches it from both
// parent and token. A token with stop_possible() false makes this a plain with_cancel.
// (With a standard library that has std::stop_token: __cpp_lib_jthread.)
#if defined(__cpp_lib_jthread)
std::pair<context, cancel_func> with_stop_token(const context& parent, std::stop_token token);
#endif

// Go's context.Cause: why the context is done. Null while it is not (and for background() and
// without_cancel() contexts); once done, the cause given to its (or an ancestor's)
// cancel_cause_func or with_*_cause, or, if none was, a std::system_error holding err()
// (what() is "context canceled" or "context deadline exceeded").
std::exception_ptr cause(const context& ctx);

// Go's WithoutCancel: the values of parent, and nothing else: never done, no deadline, a nil
// done(); cancelling parent does not cancel it (its own children follow it, not parent).
context without_cancel(const context& parent);

// Go's WithValue: a child of parent in which ctx.value(key) is `value` (a T built from it).
// Keep values to request-scoped data that crosses API boundaries, as Go advises.
template <class T, class U>
context with_value(const context& parent, const context_key<T>& key, U&& value);

// Stops a context's after_func: true if this call kept f from being started, false if f was
// started already (the context is done) or stopped before. Does not wait for a running f.
// Cheap to copy; copies stop the same registration. The stop function of Go's AfterFunc.
class after_func_stop {
 public:
  after_func_stop() noexcept = default;
  bool operator()() const noexcept;

 private:
  friend struct detail::ctx_access;
  explicit after_func_stop(detail::ctx_ref r) noexcept : reg_(std::move(r)) {}
  detail::ctx_ref reg_;
};

// Go's context.AfterFunc: once ctx is done, f() runs in a goroutine of its own (at once if ctx
// already is); the returned function stops that from happening. For a context that can never
// be done f never runs. Several after_funcs on one context are independent. An exception
// escaping f ends the program like any goroutine's.
template <class F>
after_func_stop after_func(const context& ctx, F f,
                           goro::source_location where = goro::source_location::current());

namespace debug {
// How many children (derived cancellable contexts and after_funcs) ctx's nearest cancellable
// context keeps registered now. For tests of the no-leak guarantee: a child that was cancelled
// or destroyed is not counted.
std::size_t context_children(const context& ctx) noexcept;
}  // namespace debug

// ---- implementation ----------------------------------------------------------------------

namespace detail {
struct ctx_access {
  static const ctx_ref& node(const context& c) noexcept { return c.node_; }
  static context make(ctx_ref n) noexcept { return context(std::move(n)); }
  static cancel_func make_cancel(ctx_ref n) noexcept { return cancel_func(std::move(n)); }
  static cancel_cause_func make_cancel_cause(ctx_ref n) noexcept {
    return cancel_cause_func(std::move(n));
  }
  static after_func_stop make_stop(ctx_ref r) noexcept { return after_func_stop(std::move(r)); }
};
}  // namespace detail

template <class T, class U>
context with_value(const context& parent, const context_key<T>& key, U&& value) {
  auto v = std::make_shared<const T>(std::forward<U>(value));
  return detail::ctx_access::make(
      detail::ctx_with_value(detail::ctx_access::node(parent), &key, std::move(v)));
}

template <class F>
after_func_stop after_func(const context& ctx, F f, goro::source_location where) {
  auto p = std::make_shared<F>(std::move(f));
  return detail::ctx_access::make_stop(detail::ctx_after_func(
      detail::ctx_access::node(ctx), std::move(p),
      [](void* fp) { std::invoke(*static_cast<F*>(fp)); }, where));
}

}  // namespace goro
#pragma GCC visibility pop
