// Go's select (select.go), over type-erased cases.
//
// Pass 0 (no locks held together): poll the cases in a random order, locking one channel at a
//   time; the first that can proceed wins. select() in select.hpp does this pass inline, typed,
//   for up to kInlinePollMax cases and then calls here with `polled`; larger selects do it here. A
//   case found ready was ready at that moment, so taking it is always valid; finding none ready is
//   not a snapshot (a case polled early may have become ready while a later one stopped being
//   ready), so that answer needs pass 1, except with a single case. Not Go's "lock everything, then
//   poll", because: a two-channel select pays one lock instead of two when a case is ready.
// Pass 1: lock every channel in address order (duplicates once), poll again in the same
//   random order; a ready case wins. With a default case, none ready returns the default here.
// Pass 2: enqueue one waiter per case, all pointing at one select_state, and park; the unlock
//   of all channels happens on the worker after the context is saved.
// Woken: the waker won select_state::done (one CAS in wait_queue::pop) and recorded the winner.
// Pass 3: lock all channels again and dequeue the losing waiters.
#include "goro/select.hpp"

#include <algorithm>
#include <new>

#include "goro/detail/thread_annotations.hpp"

namespace goro::detail {

namespace {

// The channels of a select, locked together. A capability of its own for the thread-safety
// analysis, which names locks by expression and so cannot follow a run-time set of them: the
// analysis checks that select_block() holds the set wherever it touches a case's channel and
// releases it on every path; the members below that take, release or use the channels' own
// locks are not analysed, each for that reason.
struct GORO_CAPABILITY("mutex") lock_set {
  select_case* cases;
  const std::uint16_t* order;  // indices into cases, by channel address, duplicates removed
  std::size_t n;
  GORO_NO_THREAD_SAFETY_ANALYSIS void lock() const noexcept GORO_ACQUIRE() {
    for (std::size_t i = 0; i < n; i++) cases[order[i]].c->select_lock();
  }
  // In reverse address order, the lowest lock last, and nothing of *this is read after it.
  // When select parks, this runs on its worker after the switch, while the lock_set (and cases,
  // order) live on the parked goroutine's stack. As soon as one channel is unlocked, a waker
  // there may complete a case and make the goroutine runnable on another worker, where it
  // leaves the select through pass 3, which locks every channel again in ascending order. So
  // it cannot get past the lowest lock, and its stack frame stays intact, until our very last
  // unlock; after that it may return and reuse the frame at once (Go's selunlock has the same
  // argument). Releasing the lowest last also keeps it from taking some locks and spinning on
  // the others while we still hold them.
  GORO_NO_THREAD_SAFETY_ANALYSIS void unlock() const noexcept GORO_RELEASE() {
    const select_case* cs = cases;
    const std::uint16_t* ord = order;
    for (std::size_t i = n; i-- > 0;) cs[ord[i]].c->select_unlock();
  }
  // Pass 2: parks; the worker calls unlock() once the goroutine's context is saved, on its own
  // stack (a thread: before it sleeps), which the analysis cannot follow.
  GORO_NO_THREAD_SAFETY_ANALYSIS void park_releasing(parker* self,
                                                     const goro::source_location& where)
      GORO_RELEASE() {
    park(
        self, [](void* p) GORO_NO_THREAD_SAFETY_ANALYSIS { static_cast<lock_set*>(p)->unlock(); },
        this, wait_reason::select, where);
  }

  // The select protocol on case i's channel, whose lock the set holds.
  GORO_NO_THREAD_SAFETY_ANALYSIS op_result try_case(std::size_t i, waiter** wake) const
      GORO_REQUIRES(this) {
    return cases[i].c->select_try(cases[i].is_send, cases[i].elem, wake);
  }
  GORO_NO_THREAD_SAFETY_ANALYSIS void enqueue(std::size_t i, waiter* w) const GORO_REQUIRES(this) {
    cases[i].c->select_register(cases[i].is_send, w);
  }
  GORO_NO_THREAD_SAFETY_ANALYSIS void dequeue(std::size_t i, waiter* w) const GORO_REQUIRES(this) {
    cases[i].c->select_unregister(cases[i].is_send, w);
  }
};

// A case that completed with `r` (ok or closed): record it, or panic for a closed send.
std::size_t finish(select_case* cases, std::size_t i, op_result r) {
  if (cases[i].is_send) {
    if (r == op_result::closed) throw_panic("send on closed channel");
  } else {
    cases[i].ok = r == op_result::ok;
  }
  return i;
}

// Passes 1 to 3 (see the top of this file), for when pass 0 found nothing ready. Out of line so
// that the common case does not pay for this part's stack frame. With a default case, it
// returns n after pass 1 instead of blocking.
[[gnu::noinline]] std::size_t select_block(select_case* cases, std::size_t n, bool has_default,
                                           const std::uint16_t* poll, std::size_t npoll,
                                           std::uint16_t* lockorder, waiter* waiters,
                                           const goro::source_location& where) {
  parker* self = current_parker();
  if (npoll == 0) {  // only nil channels: blocks forever
    park_forever(wait_reason::select, where);
  }

  // Pass 1.
  std::copy(poll, poll + npoll, lockorder);
  std::sort(lockorder, lockorder + npoll,
            [&](std::uint16_t a, std::uint16_t b) { return cases[a].c < cases[b].c; });
  std::size_t nlock = 0;
  for (std::size_t k = 0; k < npoll; k++)
    if (nlock == 0 || cases[lockorder[nlock - 1]].c != cases[lockorder[k]].c)
      lockorder[nlock++] = lockorder[k];
  lock_set locks{cases, lockorder, nlock};
  locks.lock();
  for (std::size_t k = 0; k < npoll; k++) {
    waiter* wake = nullptr;
    op_result r = locks.try_case(poll[k], &wake);
    if (r == op_result::not_ready) continue;
    locks.unlock();
    if (wake) unpark(wake->who);
    return finish(cases, poll[k], r);
  }
  if (has_default) {
    locks.unlock();
    return n;
  }

  // Pass 2.
  select_state st;
  for (std::size_t k = 0; k < npoll; k++) {
    std::size_t i = poll[k];
    waiter& w = *::new (&waiters[i]) waiter{};
    w.who = self;
    w.elem = cases[i].elem;
    w.sel = &st;
    w.case_index = static_cast<std::uint32_t>(i);
    locks.enqueue(i, &w);
  }
  locks.park_releasing(self, where);
  // acquire: pairs with the waker's CAS; it wrote winner and the value before unparking us.
  while (st.done.load(std::memory_order_acquire) == 0) {
    // Thread parkers can in principle wake spuriously; goroutines never do.
    park(self, nullptr, nullptr, wait_reason::select, where);
  }
  waiter* win = st.winner;

  // Pass 3.
  locks.lock();
  for (std::size_t k = 0; k < npoll; k++) {
    std::size_t i = poll[k];
    if (&waiters[i] == win) continue;
    locks.dequeue(i, &waiters[i]);
  }
  locks.unlock();
  return finish(cases, win->case_index, win->success ? op_result::ok : op_result::closed);
}

}  // namespace

std::size_t select_impl(select_case* cases, std::size_t n, bool has_default, std::uint16_t* scratch,
                        waiter* waiters, const goro::source_location& where,
                        const std::uint8_t* polled) {
  std::uint16_t* poll = scratch;
  std::size_t npoll = 0;
  if (polled) {  // select() polled in this random order already: keep it, without nil cases
    for (std::size_t k = 0; k < n; k++)
      if (cases[polled[k]].c) poll[npoll++] = polled[k];
  } else {
    // Random poll order over the non-nil cases, from one random word.
    std::uint64_t r = fastrand();
    for (std::size_t i = 0; i < n; i++)
      if (cases[i].c) shuffle_in(poll, npoll, static_cast<std::uint16_t>(i), r);
  }

  // Pass 0, unless select() did it inline.
  for (std::size_t k = 0; k < npoll && !polled; k++) {
    select_case& sc = cases[poll[k]];
    bool not_ready = sc.is_send ? sc.c->send_not_ready_relaxed() : sc.c->recv_not_ready_relaxed();
    if (not_ready) continue;
    const int rival = sc.c->lock_noting_rival();
    waiter* wake = nullptr;
    const op_result r = sc.c->select_try(sc.is_send, sc.elem, &wake);
    sc.c->unlock_after(r, wake, rival);
    if (r != op_result::not_ready) return finish(cases, poll[k], r);
  }
  // One poll is a snapshot of one channel; several polls are not a snapshot of all of them.
  // Finding no case ready takes pass 1 (all locks held) unless there was at most one case.
  if (has_default && npoll <= 1) return n;
  return select_block(cases, n, has_default, poll, npoll, scratch + n, waiters, where);
}

}  // namespace goro::detail
