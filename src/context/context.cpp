// Context nodes, cancellation, deadlines, values, without_cancel and after_func (node.hpp has
// the tree's invariants; the std::stop_token interop is in stop_token.cpp).
//
// after_func registrations: an after_reg holds a reference to its context (so that stop() can
// find the list it is in, and so that f runs even if nobody else holds the context) and, while
// linked, the list holds one to it. Its state goes
// pending -> started (the cancel that unlinked it won: f runs in a new goroutine, which owns
// the list's reference) or pending -> stopped (stop() won: it unlinks it if it is still
// linked); exactly one CAS decides.
//
// Deadlines: a deadline_node's timer, while in a heap, holds a reference to the node. Its fire
// runs on a worker's scheduler stack, where user code must not run (a stop token's callbacks
// would), so it only starts a goroutine that cancels the node and drops that reference, as
// Go's timer goroutine does. A cancel that finds the timer still in its heap removes it and
// drops the reference itself.
#include <new>
#include <string>
#include <system_error>

#include "base/check.hpp"
#include "base/clock.hpp"
#include "context/node.hpp"
#include "goro/runtime.hpp"
#include "sched/sched.hpp"

namespace goro {

namespace {

class context_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "context"; }
  std::string message(int ev) const override {
    switch (static_cast<context_errc>(ev)) {
      case context_errc::canceled:
        return "context canceled";
      case context_errc::deadline_exceeded:
        return "context deadline exceeded";
    }
    return "unknown context error";
  }
};

}  // namespace

const std::error_category& context_category() noexcept {
  // Never destroyed: goroutines may still compare error codes while the program exits. Made in
  // static storage (placement new cannot fail), as the standard library makes its own.
  alignas(context_category_impl) static unsigned char storage[sizeof(context_category_impl)];
  static const context_category_impl* category = ::new (storage) context_category_impl;
  return *category;
}

namespace detail {

namespace {

// The channel done() hands out for a context cancelled before anyone asked: closed once,
// shared by all, never destroyed.
chan_impl<signal>* closed_chan() {
  static chan_impl<signal>* const ch = [] {
    auto* c = new chan_impl<signal>(0);
    c->close();
    return c;
  }();
  return ch;
}

struct deadline_node final : cancel_node, rtimer {
  deadline_node(ctx_node* parent_ref, std::int64_t d, std::exception_ptr c) noexcept
      : cancel_node(parent_ref), deadline_cause(std::move(c)) {
    deadline_ns = d;
    fire = &on_fire;
  }
  void on_cancelled() noexcept override {
    if (timer_del(this)) ctx_release(this);  // the heap's reference
  }
  static void on_fire(rtimer* r, std::int64_t) {
    auto* n = static_cast<deadline_node*>(r);
    // relaxed: counted by the heap for stop()s that wait out fires; nobody waits for ours.
    n->firing.fetch_sub(1, std::memory_order_relaxed);
    // The heap's reference goes to the goroutine.
    goro::go([n] {
      cancel(n, context_errc::deadline_exceeded, n->deadline_cause, true);
      ctx_release(n);
    });
  }
  const std::exception_ptr deadline_cause;  // cause() when the deadline cancels it
};

// NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor): final, and deleted by dispose() only.
struct after_reg final : ctx_obj, child_link {
  after_reg(ctx_node* ctx_ref, std::shared_ptr<void> fn, void (*call_fn)(void*),
            const goro::source_location& at) noexcept
      : child_link(role::after_func), ctx(ctx_ref), f(std::move(fn)), call(call_fn), where(at) {}
  ctx_obj* dispose() noexcept override {
    ctx_node* c = ctx;
    delete this;
    return c;
  }
  static constexpr std::uint8_t kPending = 0, kStarted = 1, kStopped = 2;
  ctx_node* const ctx;  // the reference this registration holds (null: background)
  std::atomic<std::uint8_t> state{kPending};
  const std::shared_ptr<void> f;
  void (*const call)(void*);
  const goro::source_location where;
};

// r was just unlinked by a cancel (the caller owns the list's reference): runs f in a new
// goroutine unless stop() came first.
void start_after_func(after_reg* r) noexcept {
  std::uint8_t expected = after_reg::kPending;
  // acq_rel: against stop()'s CAS; the winner alone acts.
  if (!r->state.compare_exchange_strong(expected, after_reg::kStarted, std::memory_order_acq_rel)) {
    ctx_release(r);
    return;
  }
  goro::go(
      [r] {
        r->call(r->f.get());
        ctx_release(r);
      },
      r->where);
}

// Marks n done with err and cause unless it already is; on success wakes its waiters, runs its
// hooks, starts its after_funcs and pushes its child contexts on *work, with a reference to
// each. Returns whether this call cancelled n.
bool cancel_one(cancel_node* n, int err, const std::exception_ptr& cause,
                cancel_node** work) noexcept {
  n->lock.lock();
  if (n->err.load(std::memory_order_relaxed) != 0) {
    n->lock.unlock();
    return false;
  }
  n->cause = cause;
  // release: pairs with the acquire loads in err() and cause(); cause is written first.
  n->err.store(err, std::memory_order_release);
  chan_impl<signal>* const ch = n->done_.load(std::memory_order_relaxed);
  // Take every child out; keep the after_funcs (the list's reference comes along) and the
  // child contexts not being freed (with a reference of our own), chained through `next`.
  child_link* children = nullptr;
  child_link** tail = &children;
  for (child_link* l = n->head; l;) {
    child_link* next = l->next;
    l->linked = false;
    l->prev = l->next = nullptr;
    if (l->is == child_link::role::after_func || ctx_try_retain(static_cast<cancel_node*>(l))) {
      *tail = l;
      tail = &l->next;
    }
    l = next;
  }
  n->head = n->tail = nullptr;
  n->nchildren = 0;
#if defined(__cpp_lib_jthread)
  const bool stop = n->source.stop_possible();
#endif
  const bool unpin = std::exchange(n->pinned, false);
  n->lock.unlock();

#if defined(__cpp_lib_jthread)
  // The stop first: whoever wakes from done() sees the token stopped too. Runs the token's
  // callbacks, here and now.
  if (stop) n->source.request_stop();
#endif
  if (ch) ch->close();
  n->on_cancelled();
  // Unlinked under the lock above, so no unlink_child() touches these links any more, and the
  // references keep the child contexts from being freed.
  while (children) {
    child_link* next = children->next;
    if (children->is == child_link::role::context) {
      auto* c = static_cast<cancel_node*>(children);
      c->work_next = *work;
      *work = c;
    } else {
      start_after_func(static_cast<after_reg*>(children));
    }
    children = next;
  }
  if (unpin) ctx_release(n);  // never the last: the caller holds one
  return true;
}

}  // namespace

void ctx_dispose_chain(ctx_obj* o) noexcept {
  // o's count reached zero: dispose of it, then release what it held, without recursion.
  while (o) {
    ctx_obj* next = o->dispose();
    // acq_rel: as in ctx_release().
    if (!next || next->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    o = next;
  }
}

ctx_node::ctx_node(kind k, ctx_node* parent_ref) noexcept
    : what(k), parent(parent_ref), canceller(parent_ref ? parent_ref->canceller : nullptr) {}

ctx_obj* ctx_node::dispose() noexcept {
  ctx_node* p = parent;
  delete this;
  return p;
}

cancel_node::cancel_node(ctx_node* parent_ref) noexcept
    : ctx_node(kind::cancel, parent_ref), child_link(role::context) {
  owner = canceller;  // the parent's canceller, as ctx_node set it
  deadline_ns = owner ? owner->deadline_ns : kNever;
  canceller = this;
}

cancel_node::~cancel_node() {
  GORO_DCHECK(!linked && !head && !pinned);
  // done_view releases the channel.
}

ctx_obj* cancel_node::dispose() noexcept {
  // Nobody refers to us: leave the parent's list. A cancel of the parent that runs meanwhile
  // sees our count at zero and leaves us alone (ctx_try_retain).
  unlink_child(this);
  return ctx_node::dispose();
}

void cancel_node::pin_locked() noexcept {
  GORO_DCHECK(lock.held());
  if (pinned || !owner || err.load(std::memory_order_relaxed) != 0) return;
  pinned = true;
  ctx_retain(this);  // the caller holds a reference, so the count is not zero
}

const recv_chan<signal>& cancel_node::make_done() {
  // acquire: pairs with cancel_one()'s release store; a done context needs no fresh channel.
  chan_impl<signal>* fresh =
      err.load(std::memory_order_acquire) == 0 ? new chan_impl<signal>(0) : nullptr;
  lock.lock();
  chan_impl<signal>* ch = done_.load(std::memory_order_relaxed);
  if (!ch) {
    if (err.load(std::memory_order_relaxed) != 0) {  // also whenever fresh is null
      ch = closed_chan();
      ch->retain();
    } else {
      ch = std::exchange(fresh, nullptr);
      pin_locked();  // the channel's holders must see a cancel of our parent
    }
    done_view = recv_chan<signal>(adopt_chan(ch));  // takes over the reference
    // release: pairs with done()'s acquire load; the channel and done_view are written.
    done_.store(ch, std::memory_order_release);
  }
  lock.unlock();
  if (fresh) fresh->release();  // lost the race to another done()
  return done_view;
}

bool link_child(cancel_node* p, child_link* l, int* err, std::exception_ptr* cause) noexcept {
  p->lock.lock();
  if (const int e = p->err.load(std::memory_order_relaxed); e != 0) {
    *err = e;
    *cause = p->cause;
    p->lock.unlock();
    return false;
  }
  l->prev = p->tail;
  l->next = nullptr;
  if (p->tail)
    p->tail->next = l;
  else
    p->head = l;
  p->tail = l;
  l->linked = true;
  p->nchildren++;
  p->lock.unlock();
  return true;
}

bool unlink_child(child_link* l) noexcept {
  cancel_node* p = l->owner;
  if (!p) return false;
  p->lock.lock();
  const bool was = l->linked;
  if (was) {
    (l->prev ? l->prev->next : p->head) = l->next;
    (l->next ? l->next->prev : p->tail) = l->prev;
    l->prev = l->next = nullptr;
    l->linked = false;
    p->nchildren--;
  }
  p->lock.unlock();
  return was;
}

void cancel(cancel_node* c, context_errc e, const std::exception_ptr& cause, bool detach) noexcept {
  const int err = static_cast<int>(e);
  cancel_node* work = nullptr;
  // c itself is not pushed on the worklist: its work_next may be in use by a cancel of its
  // parent that has taken it from the parent's list meanwhile.
  if (!cancel_one(c, err, cause, &work)) return;
  while (work) {
    cancel_node* n = work;
    work = n->work_next;
    cancel_one(n, err, cause, &work);
    ctx_release(n);  // the reference cancel_one() took for us
  }
  if (detach) unlink_child(c);
}

std::pair<context, ctx_ref> adopt_cancel_node(cancel_node* c) {
  ctx_ref ref(c);  // the creator's reference
  if (cancel_node* p = c->owner) {
    int err = 0;
    std::exception_ptr cause;
    if (!link_child(p, c, &err, &cause)) cancel(c, static_cast<context_errc>(err), cause, false);
  }
  ctx_ref for_cancel = ref;
  return {ctx_access::make(std::move(ref)), std::move(for_cancel)};
}

const void* ctx_value(const ctx_obj* node, const void* key) noexcept {
  for (auto* n = static_cast<const ctx_node*>(node); n; n = n->parent) {
    if (n->what != ctx_node::kind::value) continue;
    auto* v = static_cast<const value_node*>(n);
    if (v->key == key) return v->value.get();
  }
  return nullptr;
}

ctx_ref ctx_with_value(const ctx_ref& parent, const void* key, std::shared_ptr<const void> value) {
  auto* p = static_cast<ctx_node*>(parent.get());
  return ctx_ref(new value_node(retained(p), key, std::move(value)));
}

ctx_ref ctx_after_func(const ctx_ref& ctx, std::shared_ptr<void> f, void (*call)(void*),
                       const goro::source_location& where) {
  auto* n = static_cast<ctx_node*>(ctx.get());
  auto* r = new after_reg(retained(n), std::move(f), call, where);
  ctx_ref handle(r);
  r->owner = n ? n->canceller : nullptr;
  if (r->owner) {
    int err = 0;
    std::exception_ptr cause;
    ctx_retain(r);  // the list's, or the goroutine's if the context is done already
    if (!link_child(r->owner, r, &err, &cause)) start_after_func(r);
  }
  return handle;
}

}  // namespace detail

using detail::cancel_node;
using detail::canceller_of;
using detail::ctx_access;

const recv_chan<signal>& context::done() const& {
  cancel_node* c = detail::canceller_of(*this);
  if (!c) {
    static const recv_chan<signal>* const nil = new recv_chan<signal>();  // never destroyed
    return *nil;
  }
  // acquire: pairs with make_done()'s release store; done_view is written.
  if (c->done_.load(std::memory_order_acquire)) return c->done_view;
  return c->make_done();
}

std::error_code context::err() const noexcept {
  cancel_node* c = canceller_of(*this);
  // acquire: pairs with the cancel's release store; its writes happened before.
  const int e = c ? c->err.load(std::memory_order_acquire) : 0;
  if (e == 0) return {};
  return make_error_code(static_cast<context_errc>(e));
}

std::optional<time_point> context::deadline() const noexcept {
  cancel_node* c = canceller_of(*this);
  if (!c || c->deadline_ns == detail::kNever) return std::nullopt;
  return time_point(std::chrono::nanoseconds(c->deadline_ns));
}

void cancel_func::operator()() const noexcept {
  if (auto* c = static_cast<cancel_node*>(static_cast<detail::ctx_node*>(node_.get())))
    detail::cancel(c, context_errc::canceled, nullptr, true);
}

void cancel_cause_func::operator()(const std::exception_ptr& cause) const noexcept {
  if (auto* c = static_cast<cancel_node*>(static_cast<detail::ctx_node*>(node_.get())))
    detail::cancel(c, context_errc::canceled, cause, true);
}

context background() noexcept { return {}; }
context todo() noexcept { return {}; }

std::pair<context, cancel_func> with_cancel(const context& parent) {
  auto [ctx, ref] =
      detail::adopt_cancel_node(new cancel_node(detail::retained(detail::node_of(parent))));
  return {std::move(ctx), ctx_access::make_cancel(std::move(ref))};
}

std::pair<context, cancel_cause_func> with_cancel_cause(const context& parent) {
  auto [ctx, ref] =
      detail::adopt_cancel_node(new cancel_node(detail::retained(detail::node_of(parent))));
  return {std::move(ctx), ctx_access::make_cancel_cause(std::move(ref))};
}

std::pair<context, cancel_func> with_deadline_cause(const context& parent, time_point d,
                                                    std::exception_ptr cause) {
  const std::int64_t when =
      std::chrono::duration_cast<std::chrono::nanoseconds>(d.time_since_epoch()).count();
  cancel_node* pc = canceller_of(parent);
  // The parent's deadline comes first (Go: cur.Before(d)), or this one never comes: a plain
  // child serves.
  if ((pc && pc->deadline_ns < when) || when == detail::kNever) return with_cancel(parent);
  detail::ensure_started(nullptr);
  auto* n =
      new detail::deadline_node(detail::retained(detail::node_of(parent)), when, std::move(cause));
  auto [ctx, ref] = detail::adopt_cancel_node(n);
  if (when <= detail::now_ns()) {
    detail::cancel(n, context_errc::deadline_exceeded, n->deadline_cause, true);
  } else {
    // Armed under the lock unless the parent cancelled n already; a later cancel then finds
    // the timer in its heap (on_cancelled()).
    n->lock.lock();
    if (n->err.load(std::memory_order_relaxed) == 0) {
      ctx_retain(n);  // the heap's
      n->when = when;
      try {
        detail::start_timer(n);
      } catch (...) {
        n->lock.unlock();
        // relaxed: undoes our own increment; `ref` keeps n alive.
        n->refs.fetch_sub(1, std::memory_order_relaxed);
        throw;
      }
    }
    n->lock.unlock();
  }
  return {std::move(ctx), ctx_access::make_cancel(std::move(ref))};
}

std::pair<context, cancel_func> with_deadline(const context& parent, time_point d) {
  return with_deadline_cause(parent, d, nullptr);
}

std::pair<context, cancel_func> with_timeout_cause(const context& parent,
                                                   std::chrono::nanoseconds timeout,
                                                   std::exception_ptr cause) {
  const std::int64_t when = detail::deadline_after(detail::now_ns(), timeout.count());
  return with_deadline_cause(parent, time_point(std::chrono::nanoseconds(when)), std::move(cause));
}

std::pair<context, cancel_func> with_timeout(const context& parent,
                                             std::chrono::nanoseconds timeout) {
  return with_timeout_cause(parent, timeout, nullptr);
}

std::exception_ptr cause(const context& ctx) {
  cancel_node* c = canceller_of(ctx);
  // acquire: pairs with the cancel's release store, after which c->cause never changes.
  const int e = c ? c->err.load(std::memory_order_acquire) : 0;
  if (e == 0) return nullptr;
  if (c->cause) return c->cause;
  return std::make_exception_ptr(std::system_error(make_error_code(static_cast<context_errc>(e))));
}

context without_cancel(const context& parent) {
  return ctx_access::make(
      detail::ctx_ref(new detail::detached_node(detail::retained(detail::node_of(parent)))));
}

bool after_func_stop::operator()() const noexcept {
  auto* r = static_cast<detail::after_reg*>(reg_.get());
  if (!r) return false;
  std::uint8_t expected = detail::after_reg::kPending;
  // acq_rel: against start_after_func()'s CAS; the winner alone acts.
  if (!r->state.compare_exchange_strong(expected, detail::after_reg::kStopped,
                                        std::memory_order_acq_rel))
    return false;
  if (detail::unlink_child(r)) detail::ctx_release(r);  // the list's; our caller holds one
  return true;
}

namespace debug {
std::size_t context_children(const context& ctx) noexcept {
  cancel_node* c = canceller_of(ctx);
  if (!c) return 0;
  c->lock.lock();
  const std::size_t n = c->nchildren;
  c->lock.unlock();
  return n;
}
}  // namespace debug

}  // namespace goro
