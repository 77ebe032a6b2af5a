// The std::stop_token interop, both ways: context::stop_token() hands out a token of a
// std::stop_source the node keeps; with_stop_token() makes a context that a token's stop
// request cancels, through a std::stop_callback the node keeps.
//
// Invariants:
//  - cancel_node::source goes from nostopstate to a real source once, under the node's lock,
//    and is never reassigned; the cancel that sets err requests stop on it if it exists then,
//    and a stop_token() that finds err set requests it itself (request_stop is idempotent).
//  - a stop_node's callback holds a reference to the node while it is registered, so a token
//    can cancel a context nobody else refers to (whose done() channel someone still holds).
//    cb_ready (under the lock) says the callback is registered and nobody has taken charge of
//    removing it; exactly one of the registrar (if the node was cancelled during the
//    registration) and the cancel that set err (otherwise) takes it, destroys the callback and
//    drops its reference. Destroying it from inside its own invocation, when the token's stop
//    cancels the node, is allowed by std::stop_callback; from another thread it waits for a
//    running invocation, which never waits for us (it finds the node cancelled).
#include <optional>

#include "context/node.hpp"

#if defined(__cpp_lib_jthread)  // else the standard library has no std::stop_token
namespace goro {

namespace detail {
namespace {

struct stop_node;

struct stop_cancel {
  stop_node* n;
  void operator()() const noexcept;
};

struct stop_node final : cancel_node {
  explicit stop_node(ctx_node* parent_ref) noexcept : cancel_node(parent_ref) {}

  void register_callback(std::stop_token token) {
    ctx_retain(this);  // the callback's
    try {
      cb.emplace(std::move(token), stop_cancel{this});  // may cancel us at once
    } catch (...) {
      // relaxed: undoes our own increment; the creator's reference keeps us alive.
      refs.fetch_sub(1, std::memory_order_relaxed);
      throw;
    }
    lock.lock();
    const bool cancelled = err.load(std::memory_order_relaxed) != 0;
    if (!cancelled) cb_ready = true;
    lock.unlock();
    if (cancelled) drop_callback();
  }
  void on_cancelled() noexcept override {
    lock.lock();
    const bool mine = std::exchange(cb_ready, false);
    lock.unlock();
    if (mine) drop_callback();
  }
  void drop_callback() noexcept {
    cb.reset();
    ctx_release(this);  // the callback's; never the last (see stop_cancel)
  }

  std::optional<std::stop_callback<stop_cancel>> cb;
  bool cb_ready = false;  // lock
};

void stop_cancel::operator()() const noexcept {
  // The callback may be destroyed (and its reference dropped) during the cancel: keep n alive
  // with a reference of our own, and touch nothing of *this afterwards.
  stop_node* const node = n;
  ctx_retain(node);
  cancel(node, context_errc::canceled, nullptr, true);
  ctx_release(node);
}

}  // namespace
}  // namespace detail

std::stop_token context::stop_token() const {
  detail::cancel_node* c = detail::canceller_of(*this);
  if (!c) return {};
  c->lock.lock();
  if (!c->source.stop_possible()) {
    c->lock.unlock();
    std::stop_source fresh;  // allocates: not under the spinlock
    c->lock.lock();
    if (!c->source.stop_possible()) c->source = std::move(fresh);
  }
  std::stop_token token = c->source.get_token();
  c->pin_locked();  // the token's holders must see a cancel of our parent
  const bool done = c->err.load(std::memory_order_relaxed) != 0;
  c->lock.unlock();
  if (done) c->source.request_stop();
  return token;
}

std::pair<context, cancel_func> with_stop_token(const context& parent, std::stop_token token) {
  if (!token.stop_possible()) return with_cancel(parent);
  auto* n = new detail::stop_node(detail::retained(detail::node_of(parent)));
  auto [ctx, ref] = detail::adopt_cancel_node(n);
  n->register_callback(std::move(token));
  return {std::move(ctx), detail::ctx_access::make_cancel(std::move(ref))};
}

}  // namespace goro
#endif
