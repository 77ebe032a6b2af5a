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
// first, and the after_func registrations on it) in an intrusive list. A child leaves the list
// when it is cancelled (by its own cancel function, its deadline, its stop token or its parent:
// its cancel "detaches" it), when an after_func is stopped, and when a child context is freed,
// so a long-lived parent does not accumulate dead children.
//
// Who keeps a child alive. The list holds a reference to each after_func registration (nothing
// else may), but none to a child context: a child nobody refers to any more (no context, no
// cancel function, no timer, no stop callback, no child of its own) can be observed by nobody,
// so it is freed and unlinks itself; Go's GC frees such a subtree too, where a parent that held
// its children would keep every forgotten child until it is done. The exceptions are the
// observers that hold no context: a done() channel or a stop_token() handed out. A node that
// has a canceller above it "pins" itself (one reference of its own) when it first hands one
// out, and the cancel that sets its err drops the pin: whoever holds that channel or token sees
// the parent's cancel, as in Go. (Without a canceller above, only its own cancel function,
// deadline or stop callback could cancel it, and each holds a reference.)
//
// Invariants (cancel_node::lock guards err's transition, cause, the children list, nchildren,
// every child's `linked`, pinned, cb_ready, and the first store to done_):
//  - err goes 0 -> context_errc once, under lock; cause is written before that (release)
//    store and never after, so a reader that sees err != 0 (acquire) may read cause unlocked.
//  - a linked child is in exactly one list. An after_func's link holds a reference, which the
//    canceller that unlinks it (the parent's cancel, or stop()) owns from then on. A child
//    context's link holds none: the parent's cancel takes a reference to each child under its
//    lock only if the child's count is not zero already (a child at zero is being freed, and
//    unlinks itself under that same lock before it goes).
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
  ctx_obj* dispose() noexcept override;  // unlinks itself from its owner's list first

  // lock held: done() or stop_token() hands out an observer that holds no reference (see the
  // top of this file).
  void pin_locked() noexcept;

  // The first done(): makes done_ (see the invariants) and returns it.
  const recv_chan<signal>& make_done();
  // Hooks of the kinds that own something more, run by the cancel that set err, unlocked.
  virtual void on_cancelled() noexcept {}

  spinlock lock;
  std::atomic<int> err{0};  // a context_errc once done
  std::exception_ptr cause;
  // done_ publishes done_view's channel: done_view owns the node's reference to it and is
  // written once, under lock, before done_'s release store; read-only from then on, so a
  // reader that saw done_ non-null (acquire) may hand out a reference to it.
  std::atomic<chan_impl<signal>*> done_{nullptr};
  recv_chan<signal> done_view;
  child_link* head = nullptr;  // children; lock
  child_link* tail = nullptr;
  std::size_t nchildren = 0;  // lock
  std::int64_t deadline_ns;   // kNever: none (the parent's, or an earlier one of its own)
#if defined(__cpp_lib_jthread)
  std::stop_source source{std::nostopstate};  // made by the first stop_token(); lock
#endif
  bool pinned = false;               // holds a reference of its own; lock
  cancel_node* work_next = nullptr;  // a running cancel's worklist (its owner only)
};

// Cancels c and its subtree (each node once: the first cancel wins) with err and cause;
// `detach`: also takes c out of its parent's list. The caller holds a reference to c. Requests
// stop on handed-out stop tokens, wakes every done() waiter, starts the after_funcs.
void cancel(cancel_node* c, context_errc err, const std::exception_ptr& cause,
            bool detach) noexcept;

// Links l (a new child, not shared yet) into p's list, unless p is done already: then returns
// false, and err / cause are p's.
bool link_child(cancel_node* p, child_link* l, int* err, std::exception_ptr* cause) noexcept;
// Takes l out of its owner's list if it is still there; true if this call did (for an
// after_func the caller then owns the list's reference).
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
// A reference to o unless its count already reached zero (it is being freed).
inline bool ctx_try_retain(ctx_obj* o) noexcept {
  std::uint32_t r = o->refs.load(std::memory_order_relaxed);
  // relaxed: as ctx_retain(); the object is kept from being freed meanwhile by the lock its
  // caller holds, which its disposal must take.
  while (r != 0 && !o->refs.compare_exchange_weak(r, r + 1, std::memory_order_relaxed)) {
  }
  return r != 0;
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
