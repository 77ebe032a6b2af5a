// goro/detail/chan_impl.hpp: the channel algorithm (Go's chan.go). Not API.
//
// Invariants (all guarded by lock_ unless said otherwise):
//  - recvq_ non-empty implies the buffer is empty; sendq_ non-empty implies the buffer is full
//    (or the channel is unbuffered). At most one of them holds waiters of plain sends and
//    receives; a select with a send and a receive case on this channel is queued on both.
//  - closed_ only goes false -> true. Once closed, nothing is queued any more; the waiters
//    still queued are close()'s to fail (it wakes them in batches, releasing the lock in
//    between), so a receive ignores sendq_ on a closed channel.
//  - count_ is the number of constructed values in the ring, at [recvx_, recvx_ + count_).
//  - closed_, count_ and the queue heads are atomics only so the non-blocking fast paths may
//    read them without the lock; every write happens under the lock. (So they carry no
//    GORO_GUARDED_BY: the analysis has no "writes only" form; the queues do, and the peeks
//    that read their heads without the lock say so.)
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "goro/detail/core.hpp"
#include "goro/detail/spinlock.hpp"
#include "goro/detail/thread_annotations.hpp"
#include "goro/source_location.hpp"

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro::detail {

enum class op_result : std::uint8_t { ok, not_ready, closed };

class chan_base {
 public:
  explicit chan_base(std::size_t cap) noexcept : cap_(cap) {}
  chan_base(const chan_base&) = delete;
  chan_base& operator=(const chan_base&) = delete;
  virtual ~chan_base() = default;

  // lock_ held. Tries to complete a send of *static_cast<T*>(v) (moved from on ok) or a receive
  // into raw storage `out` (constructed on ok). On ok, *wake may name a waiter to unpark once the
  // lock is released.
  virtual op_result send_locked(void* v, waiter** wake) GORO_REQUIRES(lock_) = 0;
  virtual op_result recv_locked(void* out, waiter** wake) GORO_REQUIRES(lock_) = 0;

  // Lock-free readiness peeks (chan.go's empty()/full()): a false "not ready" is impossible to
  // observe as wrong, because there was a moment during the call at which the answer held.
  // Not analysed: they read a queue's atomic head without lock_ (the lock guards the rest).
  GORO_NO_THREAD_SAFETY_ANALYSIS bool recv_not_ready_relaxed() const noexcept {
    bool empty = cap_ == 0 ? sendq_.empty_relaxed() : count_.load(std::memory_order_relaxed) == 0;
    return empty && !closed_.load(std::memory_order_relaxed);
  }
  GORO_NO_THREAD_SAFETY_ANALYSIS bool send_not_ready_relaxed() const noexcept {
    bool full = cap_ == 0 ? recvq_.empty_relaxed() : count_.load(std::memory_order_relaxed) == cap_;
    return full && !closed_.load(std::memory_order_relaxed);
  }

  // Takes lock_. Returns the worker slot of the previous holder if it was another worker's
  // and we had to wait for it, else 0 (see note_lock_contention()).
  // Holders are recorded only once the channel has been contended: the common, uncontended
  // channel pays one extra load.
  int lock_noting_rival() noexcept GORO_ACQUIRE(lock_) {
    bool contended = lock_.lock_contended();
    if (!contended && !contended_once_) return 0;
    contended_once_ = true;
    int me = tls_worker_slot;
    int prev = holder_;
    holder_ = me;
    return contended && prev != me ? prev : 0;
  }

  // After an operation completed, with lock_ released: wakes the waiter it completed with (if
  // any), then reports contention (if rival, see lock_noting_rival()). Out of line, so that the
  // operations' common case makes no call and saves no registers.
  [[gnu::noinline]] static void after_op(waiter* wake, int rival) noexcept {
    if (wake) unpark(wake->who);
    if (rival) note_lock_contention(rival);
  }

  // Ends an attempt begun by lock_noting_rival() that gave r: releases lock_, wakes the partner
  // (wake, if any) and, if the operation completed, reports contention with `rival`. An
  // attempt is lock_noting_rival(), one operation with lock_ held (a *_typed call or
  // select_try), then this; written out at each use rather than taking the operation as a
  // callback, so that the thread-safety analysis sees lock_ held around the operation.
  [[gnu::always_inline]] void unlock_after(op_result r, waiter* wake, int rival) noexcept
      GORO_RELEASE(lock_) {
    lock_.unlock();
    if (r == op_result::not_ready) rival = 0;  // contention counts only for completed operations
    if (wake || rival) after_op(wake, rival);
  }

  void close();  // throws panic_error("close of closed channel")
  // Go's len() and cap(). A timer's channel (goro/time.hpp) buffers the one value its timer
  // delivers but presents itself as unbuffered, as in Go 1.23: both are 0 there.
  std::size_t size() const noexcept {
    return reports_unbuffered_ ? 0 : count_.load(std::memory_order_relaxed);
  }
  std::size_t capacity() const noexcept { return reports_unbuffered_ ? 0 : cap_; }

  // relaxed: a new reference is made from an existing one, which keeps the channel alive.
  void retain() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    // acq_rel: the last owner must see every other owner's writes before destroying.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // ---- The select protocol (src/chan/select.cpp) -------------------------------------------
  // select() drives every channel of its cases through these alone (crossbeam-channel's
  // try / register / unregister; "accept" is the CAS in wait_queue::pop that a completing
  // operation wins): lock all its channels, try each case, else register a waiter per case,
  // park, and after the wake unregister the losers.
  void select_lock() noexcept GORO_ACQUIRE(lock_) { lock_.lock(); }
  void select_unlock() noexcept GORO_RELEASE(lock_) { lock_.unlock(); }
  // select_lock() held. Tries the case: a send of *v or a receive into raw storage v.
  op_result select_try(bool send, void* v, waiter** wake) GORO_REQUIRES(lock_) {
    return send ? send_locked(v, wake) : recv_locked(v, wake);
  }
  // select_lock() held. Queues w (one case of a select, w->sel set) / takes it off again if
  // no completing operation took it meanwhile.
  void select_register(bool send, waiter* w) noexcept GORO_REQUIRES(lock_) {
    (send ? sendq_ : recvq_).push(w);
  }
  void select_unregister(bool send, waiter* w) noexcept GORO_REQUIRES(lock_) {
    (send ? sendq_ : recvq_).remove(w);
  }

 protected:
  spinlock lock_;
  // Guarded by lock_: tls_worker_slot of the last locker that noted itself, and whether anyone
  // ever had to wait for the lock.
  int holder_ GORO_GUARDED_BY(lock_) = 0;
  bool contended_once_ GORO_GUARDED_BY(lock_) = false;
  bool reports_unbuffered_ = false;  // set once, before the channel is shared (timer channels)
  std::atomic<bool> closed_{false};
  std::atomic<std::size_t> count_{0};
  const std::size_t cap_;
  wait_queue recvq_ GORO_GUARDED_BY(lock_);
  wait_queue sendq_ GORO_GUARDED_BY(lock_);

 private:
  // Handles (chan, send_chan, recv_chan) that refer to the channel; the last release destroys
  // it (a timer's channel then stops its timer, goro/time.hpp).
  std::atomic<std::uint32_t> refs_{1};
};

// Not final: a timer's channel derives from chan_impl<time_point> to stop its timer when the
// last handle goes (goro/time.hpp).
template <class T>
class chan_impl : public chan_base {
  static constexpr bool kEmpty = std::is_empty_v<T>;  // chan<signal>: no buffer at all

 public:
  explicit chan_impl(std::size_t cap)
      : chan_base(cap),
        buf_(kEmpty || cap == 0 ? nullptr
                                : static_cast<T*>(::operator new (sizeof(T) * cap,
                                                                  std::align_val_t{alignof(T)}))) {}
  ~chan_impl() override {
    for (std::size_t n = count_.load(std::memory_order_relaxed), i = recvx_; n > 0; n--) {
      slot(i)->~T();
      if (++i == cap_) i = 0;
    }
    if (buf_) ::operator delete (buf_, std::align_val_t{alignof(T)});
  }

  op_result send_locked(void* v, waiter** wake) GORO_REQUIRES(lock_) override {
    return send_typed(*static_cast<T*>(v), wake);
  }
  op_result recv_locked(void* out, waiter** wake) GORO_REQUIRES(lock_) override {
    return recv_typed(out, wake);
  }

  // lock_ held. send_typed_inline is for select()'s inline poll, where a call would cost as much
  // as the common case's work; elsewhere the compiler decides (forcing it into send() and recv()
  // measured slower: 85 -> 95 ns per ping-pong round trip).
  op_result send_typed(T& v, waiter** wake) GORO_REQUIRES(lock_) {
    return send_typed_inline(v, wake);
  }
  op_result recv_typed(void* out, waiter** wake) GORO_REQUIRES(lock_) {
    return recv_typed_inline(out, wake);
  }

  [[gnu::always_inline]] op_result send_typed_inline(T& v, waiter** wake) GORO_REQUIRES(lock_) {
    if (closed_.load(std::memory_order_relaxed)) return op_result::closed;
    if (waiter* w = recvq_.pop()) {  // direct handoff into the waiting receiver's slot
      ::new (w->elem) T(std::move(v));
      w->success = true;
      *wake = w;
      return op_result::ok;
    }
    std::size_t n = count_.load(std::memory_order_relaxed);
    if (n < cap_) {
      ::new (slot(sendx_)) T(std::move(v));
      if (++sendx_ == cap_) sendx_ = 0;
      count_.store(n + 1, std::memory_order_relaxed);
      return op_result::ok;
    }
    return op_result::not_ready;
  }

  [[gnu::always_inline]] op_result recv_typed_inline(void* out, waiter** wake)
      GORO_REQUIRES(lock_) {
    // A sender still queued on a closed channel is being failed by close(): not a partner.
    waiter* w = closed_.load(std::memory_order_relaxed) ? nullptr : sendq_.pop();
    if (w) {
      T* src = static_cast<T*>(w->elem);
      if (cap_ == 0) {
        ::new (out) T(std::move(*src));
      } else {  // full buffer: take the head, the sender's value becomes the new tail
        T* head = slot(recvx_);
        ::new (out) T(std::move(*head));
        head->~T();
        ::new (head) T(std::move(*src));
        if (++recvx_ == cap_) recvx_ = 0;
        sendx_ = recvx_;
      }
      w->success = true;
      *wake = w;
      return op_result::ok;
    }
    std::size_t n = count_.load(std::memory_order_relaxed);
    if (n > 0) {
      T* head = slot(recvx_);
      ::new (out) T(std::move(*head));
      head->~T();
      if (++recvx_ == cap_) recvx_ = 0;
      count_.store(n - 1, std::memory_order_relaxed);
      return op_result::ok;
    }
    return closed_.load(std::memory_order_relaxed) ? op_result::closed : op_result::not_ready;
  }

  // Blocking send. Throws panic_error("send on closed channel"). The common case, done at once,
  // makes no call: the rest is out of line.
  void send(T& v, const goro::source_location& where) {
    const int rival = lock_noting_rival();
    waiter* wake = nullptr;
    const op_result r = send_typed(v, &wake);
    if (r == op_result::ok) [[likely]] {
      unlock_after(r, wake, rival);
      return;
    }
    send_wait(v, r, where);
  }

  // Blocking receive into raw storage; false when closed and drained.
  bool recv(void* out, const goro::source_location& where) {
    const int rival = lock_noting_rival();
    waiter* wake = nullptr;
    const op_result r = recv_typed(out, &wake);
    if (r == op_result::ok) [[likely]] {
      unlock_after(r, wake, rival);
      return true;
    }
    return recv_wait(out, r, where);
  }

  op_result try_send(T& v) {
    if (send_not_ready_relaxed()) return op_result::not_ready;
    lock_.lock();
    waiter* wake = nullptr;
    const op_result r = send_typed(v, &wake);
    lock_.unlock();
    if (wake) after_op(wake, 0);
    if (r == op_result::closed) throw_panic("send on closed channel");
    return r;
  }

  op_result try_recv(void* out) {
    if (recv_not_ready_relaxed()) return op_result::not_ready;
    lock_.lock();
    waiter* wake = nullptr;
    const op_result r = recv_typed(out, &wake);
    lock_.unlock();
    if (wake) after_op(wake, 0);
    return r;
  }

 private:
  // send() once send_typed() said closed or not_ready, lock_ still held; releases it.
  void send_wait(T& v, op_result r, const goro::source_location& where) GORO_RELEASE(lock_) {
    if (r == op_result::closed) {
      lock_.unlock();
      throw_panic("send on closed channel");
    }
    waiter me;
    me.who = current_parker();
    me.elem = &v;
    sendq_.push(&me);
    park_releasing(lock_, me.who, wait_reason::chan_send, where);
    if (!me.success) throw_panic("send on closed channel");  // woken by close()
  }

  // recv() once recv_typed() said closed or not_ready, lock_ still held; releases it.
  bool recv_wait(void* out, op_result r, const goro::source_location& where) GORO_RELEASE(lock_) {
    if (r == op_result::closed) {
      lock_.unlock();
      return false;
    }
    waiter me;
    me.who = current_parker();
    me.elem = out;
    recvq_.push(&me);
    park_releasing(lock_, me.who, wait_reason::chan_recv, where);
    return me.success;
  }

  T* slot(std::size_t i) noexcept GORO_REQUIRES(lock_) {
    if constexpr (kEmpty) {
      static_cast<void>(i);
      return reinterpret_cast<T*>(&empty_slot_);
    } else {
      return buf_ + i;
    }
  }

  T* const buf_ GORO_PT_GUARDED_BY(lock_);
  std::size_t sendx_ GORO_GUARDED_BY(lock_) = 0;
  std::size_t recvx_ GORO_GUARDED_BY(lock_) = 0;
  unsigned char empty_slot_ = 0;  // the one slot an empty T ever needs
};

}  // namespace goro::detail
#pragma GCC visibility pop
