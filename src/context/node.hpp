// src/context: layer 9, Go's context package (goro/context.hpp). This header is private to the
// layer: the nodes a context tree is made of, and the cancellation that runs down it.
//
// A context is a counted reference to a node (null: background). Kinds:
//  - cancel_node: with_cancel(_cause); deadline_node (with_deadline/with_timeout: + a runtime
//    timer) and stop_node (with_stop_token: + a std::stop_callback) derive from it;
//  - value_node: with_value;
//  - detached_node: without_cancel (values only: its subtree has no canceller above it).
// Every node holds a reference to its parent (values and deadlines are found upward) and knows
// its nearest cancel_node at or above it, `canceller` (null: it can never be done), which its
// done(), err(), deadline(), cause() and stop_token() read in O(1).
//
// A cancel_node keeps its children (the cancel_nodes whose canceller chain passes through it
// first, and the after_func registrations on it) in an intrusive list, holding a reference to
// each, as Go's children map does: a child that nobody else refers to still gets cancelled
// with its parent, and its done() channel closed for whoever holds it. A child leaves the list
// when it is cancelled, by its own cancel function, its deadline, its stop token or its parent
// (its cancel "detaches" it), or for an after_func when it is stopped; so a long-lived parent
// does not accumulate dead children. A child never cancelled stays registered (and keeps its
// parent) until the parent is done, as in Go: call cancel.
//
// Invariants (cancel_node::lock guards err's transition, cause, the children list, nchildren,
// every child's `linked`, cb_ready, and the first store to done_):
//  - err goes 0 -> context_errc once, under lock; cause is written before that (release)
//    store and never after, so a reader that sees err != 0 (acquire) may read cause unlocked.
//  - a linked child is in exactly one list and that list holds one reference to it; the
//    canceller that unlinks it (the child's own cancel, the parent's cancel, an after_func's
//    stop) owns that reference from then on.
//  - done_ is null until the first done() call, then a channel owned by the node: a fresh one
//    while err is 0, closed by the cancel that sets err; the shared closed channel otherwise.
//  - Locks are never nested: a cancel takes each node's lock in turn, top down, through a
//    worklist (work_next), so deep trees need neither recursion nor lock chains.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stop_token>

#include "goro/context.hpp"
#include "goro/detail/chan_impl.hpp"
#include "goro/detail/spinlock.hpp"
#include "timer/timers.hpp"

namespace goro::detail {

struct cancel_node;

// A member of a cancel_node's children list.
struct child_link {
  enum class role : std::uint8_t { context, after_func };
  explicit child_link(role r) noexcept : is(r) {}
  child_link* prev = nullptr;  // the list's links: guarded by `owner`'s lock
  child_link* next = nullptr;
  cancel_node* owner = nullptr;  // whose list it joins (set once, before it is shared)
  bool linked = false;           // in owner's list now; guarded by owner's lock
  const role is;
};

struct ctx_node : ctx_obj {
  enum class kind : std::uint8_t { cancel, value, detached };
  ctx_node(kind k, ctx_node* parent_ref) noexcept;  // adopts a reference to parent_ref
  virtual ~ctx_node() = default;
  ctx_obj* dispose() noexcept override;

  const kind what;
  ctx_node* const parent;  // the reference this node holds; null: background
  cancel_node* canceller;  // nearest cancel_node at or above; kept alive through `parent`
};

struct value_node final : ctx_node {
  value_node(ctx_node* parent_ref, const void* k, std::shared_ptr<const void> v) noexcept
      : ctx_node(kind::value, parent_ref), key(k), value(std::move(v)) {}
  const void* const key;
  const std::shared_ptr<const void> value;
};

struct detached_node final : ctx_node {
  explicit detached_node(ctx_node* parent_ref) noexcept : ctx_node(kind::detached, parent_ref) {
    canceller = nullptr;
  }
};

struct cancel_node : ctx_node, child_link {
  explicit cancel_node(ctx_node* parent_ref) noexcept;
  ~cancel_node() override;

  // The first done(): makes done_ (see the invariants) and returns it.
  chan_impl<signal>* make_done();
  // Hooks of the kinds that own something more, run by the cancel that set err, unlocked.
  virtual void on_cancelled() noexcept {}

  spinlock lock;
  std::atomic<int> err{0};  // a context_errc once done
  std::exception_ptr cause;
  std::atomic<chan_impl<signal>*> done_{nullptr};  // owned (one reference), see above
  child_link* head = nullptr;                      // children; lock
  child_link* tail = nullptr;
  std::size_t nchildren = 0;  // lock
  std::int64_t deadline_ns;   // kNever: none (the parent's, or an earlier one of its own)
#if defined(__cpp_lib_jthread)
  std::stop_source source{std::nostopstate};  // made by the first stop_token(); lock
#endif
  cancel_node* work_next = nullptr;  // a running cancel's worklist (its owner only)
};

// Cancels c and its subtree (each node once: the first cancel wins) with err and cause;
// `detach`: also takes c out of its parent's list. The caller holds a reference to c. Wakes
// every done() waiter, requests stop on handed-out stop tokens, starts the after_funcs.
void cancel(cancel_node* c, context_errc err, const std::exception_ptr& cause,
            bool detach) noexcept;

// Links l (a new child, not shared yet) into p's list, unless p is done already: then returns
// false, and err / cause are p's.
bool link_child(cancel_node* p, child_link* l, int* err, std::exception_ptr* cause) noexcept;
// Takes l out of its owner's list if it is still there; true if this call did (the caller then
// owns the list's reference).
bool unlink_child(child_link* l) noexcept;

// Registers c, a new cancel_node, under its canceller (cancelling it at once if that is done)
// and returns the context and a reference for its cancel function.
std::pair<context, ctx_ref> adopt_cancel_node(cancel_node* c);

inline void ctx_retain(ctx_obj* o) noexcept {
  // relaxed: made from a reference that keeps o alive.
  o->refs.fetch_add(1, std::memory_order_relaxed);
}
// A reference to n for a new child to adopt (null stays null). Call it inside the new-expression
// (`new cancel_node(retained(p))`): evaluated after the allocation, nothing leaks if it fails.
inline ctx_node* retained(ctx_node* n) noexcept {
  if (n) ctx_retain(n);
  return n;
}
inline void ctx_release(ctx_obj* o) noexcept {
  // acq_rel: the last owner sees every other owner's writes before disposing.
  if (o->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) ctx_dispose_chain(o);
}

// The node a context refers to (null: background).
inline ctx_node* node_of(const context& c) noexcept {
  return static_cast<ctx_node*>(ctx_access::node(c).get());
}
inline cancel_node* canceller_of(const context& c) noexcept {
  ctx_node* n = node_of(c);
  return n ? n->canceller : nullptr;
}

}  // namespace goro::detail
