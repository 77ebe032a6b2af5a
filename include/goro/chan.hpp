// goro/chan.hpp: Go's channels.
//
// Memory ordering: a send happens before the matching receive completes; the close of a channel
// happens before a receive that returns because the channel is closed; for an unbuffered
// channel, a receive happens before the matching send completes (Go's memory model).
#pragma once

#include <cstddef>
#include <iterator>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "goro/detail/chan_impl.hpp"
#include "goro/errors.hpp"
#include "goro/source_location.hpp"

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro {

// Go's struct{}: chan<signal> is a signal-only channel that stores no payload.
struct signal {
  friend bool operator==(signal, signal) noexcept { return true; }
};

// Result of a non-blocking operation.
enum class status { ok, not_ready, closed };

template <class T>
class chan;
template <class T>
class send_chan;
template <class T>
class recv_chan;

namespace detail {

template <class T>
class chan_iterator;

// Wraps a channel made elsewhere (a timer's), taking over its creator's reference.
template <class T>
chan<T> adopt_chan(chan_impl<T>* c) noexcept;

template <class T>
struct storage {         // raw room for one T, constructed by a channel operation
  storage() noexcept {}  // leaves bytes uninitialized, also when value-initialized
  alignas(T) unsigned char bytes[sizeof(T)];
  T* ptr() noexcept { return std::launder(reinterpret_cast<T*>(bytes)); }
};

// Shared by chan, send_chan and recv_chan: a counted reference to one channel (nil when empty).
// Each view exposes only its direction's operations.
template <class T>
class chan_handle {
 public:
  chan_handle() noexcept = default;
  chan_handle(const chan_handle& o) noexcept : c_(o.c_) {
    if (c_) c_->retain();
  }
  chan_handle(chan_handle&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  chan_handle& operator=(chan_handle o) noexcept {
    std::swap(c_, o.c_);
    return *this;
  }
  ~chan_handle() {
    if (c_) c_->release();
  }

  // True unless nil.
  explicit operator bool() const noexcept { return c_ != nullptr; }
  // Identity: true when both refer to the same channel (or both are nil).
  friend bool operator==(const chan_handle& a, const chan_handle& b) noexcept {
    return a.c_ == b.c_;
  }

  // Go's len(ch) / cap(ch): values buffered now, and the capacity (0 for nil or unbuffered).
  std::size_t size() const noexcept { return c_ ? c_->size() : 0; }
  std::size_t capacity() const noexcept { return c_ ? c_->capacity() : 0; }

  chan_impl<T>* impl() const noexcept { return c_; }

 protected:
  template <class U>
  friend class chan_iterator;

  explicit chan_handle(chan_impl<T>* c) noexcept : c_(c) {}

  // Blocks until a receiver took v (unbuffered) or it is buffered. Blocks forever on a nil
  // channel. Throws panic_error("send on closed channel").
  void do_send(T&& v, const goro::source_location& where) const {
    if (!c_) detail::park_forever(detail::wait_reason::chan_send_nil, where);
    c_->send(v, where);
  }
  std::optional<T> do_recv(const goro::source_location& where) const {
    if (!c_) detail::park_forever(detail::wait_reason::chan_recv_nil, where);
    storage<T> s;
    if (!c_->recv(s.bytes, where)) return std::nullopt;
    std::optional<T> r(std::move(*s.ptr()));
    s.ptr()->~T();
    return r;
  }
  status do_try_send(T& v) const {
    return c_ ? static_cast<status>(c_->try_send(v)) : status::not_ready;
  }
  status do_try_recv(T& out) const {
    if (!c_) return status::not_ready;
    storage<T> s;
    op_result r = c_->try_recv(s.bytes);
    if (r == op_result::ok) {
      out = std::move(*s.ptr());
      s.ptr()->~T();
    }
    return static_cast<status>(r);
  }
  void do_close() const {
    if (!c_) throw panic_error("close of nil channel");
    c_->close();
  }

  chan_impl<T>* c_ = nullptr;
};

static_assert(static_cast<int>(status::ok) == static_cast<int>(op_result::ok));
static_assert(static_cast<int>(status::not_ready) == static_cast<int>(op_result::not_ready));
static_assert(static_cast<int>(status::closed) == static_cast<int>(op_result::closed));

// for (T v : ch): receives until the channel is closed and drained, like Go's range.
template <class T>
class chan_iterator {
 public:
  using value_type = T;
  using difference_type = std::ptrdiff_t;
  chan_iterator() = default;
  explicit chan_iterator(const chan_handle<T>* h, goro::source_location where)
      : h_(h), where_(where) {
    next();
  }
  T& operator*() noexcept { return *v_; }
  chan_iterator& operator++() {
    next();
    return *this;
  }
  void operator++(int) { next(); }
  friend bool operator==(const chan_iterator& it, std::default_sentinel_t) noexcept {
    return !it.v_.has_value();
  }

 private:
  void next();
  const chan_handle<T>* h_ = nullptr;
  goro::source_location where_;
  std::optional<T> v_;
};

}  // namespace detail

// A bidirectional channel handle, like Go's `chan T` value: cheap to copy, copies refer to the
// same channel, default-constructed is nil. T may be move-only.
template <class T>
class chan : public detail::chan_handle<T> {
  using base = detail::chan_handle<T>;

 public:
  using value_type = T;
  chan() noexcept = default;

  // Blocks until a receiver takes v (unbuffered) or v is in the buffer; forever on nil.
  // Throws panic_error("send on closed channel").
  void send(T v, goro::source_location where = goro::source_location::current()) const {
    this->do_send(std::move(v), where);
  }
  // Blocks until a value arrives; std::nullopt once the channel is closed and drained.
  std::optional<T> recv(goro::source_location where = goro::source_location::current()) const {
    return this->do_recv(where);
  }
  // ok, or not_ready with v left untouched. Throws like send on a closed channel.
  status try_send(T&& v) const { return this->do_try_send(v); }
  status try_send(const T& v) const requires std::is_copy_constructible_v<T> {
    T copy(v);
    return this->do_try_send(copy);
  }
  // ok (out assigned), not_ready, or closed once the channel is closed and drained.
  status try_recv(T& out) const { return this->do_try_recv(out); }
  // Wakes every waiter: receivers get nullopt, blocked senders throw. Throws panic_error on a
  // closed ("close of closed channel") or nil ("close of nil channel") channel.
  void close() const { this->do_close(); }

  detail::chan_iterator<T> begin(
      goro::source_location where = goro::source_location::current()) const {
    return detail::chan_iterator<T>(this, where);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  template <class U>
  friend chan<U> make_chan(std::size_t);
  template <class U>
  friend chan<U> detail::adopt_chan(detail::chan_impl<U>*) noexcept;
  explicit chan(detail::chan_impl<T>* c) noexcept : base(c) {}
};

// Go's `chan<- T`: the sending half. Converts implicitly from chan<T>, never back.
template <class T>
class send_chan : public detail::chan_handle<T> {
 public:
  using value_type = T;
  send_chan() noexcept = default;
  send_chan(const chan<T>& c) noexcept : detail::chan_handle<T>(c) {}  // NOLINT: implicit by design
  send_chan(chan<T>&& c) noexcept : detail::chan_handle<T>(std::move(c)) {}  // NOLINT

  void send(T v, goro::source_location where = goro::source_location::current()) const {
    this->do_send(std::move(v), where);
  }
  status try_send(T&& v) const { return this->do_try_send(v); }
  status try_send(const T& v) const requires std::is_copy_constructible_v<T> {
    T copy(v);
    return this->do_try_send(copy);
  }
  void close() const { this->do_close(); }
};

// Go's `<-chan T`: the receiving half. Converts implicitly from chan<T>, never back.
template <class T>
class recv_chan : public detail::chan_handle<T> {
 public:
  using value_type = T;
  recv_chan() noexcept = default;
  recv_chan(const chan<T>& c) noexcept : detail::chan_handle<T>(c) {}  // NOLINT: implicit by design
  recv_chan(chan<T>&& c) noexcept : detail::chan_handle<T>(std::move(c)) {}  // NOLINT

  std::optional<T> recv(goro::source_location where = goro::source_location::current()) const {
    return this->do_recv(where);
  }
  status try_recv(T& out) const { return this->do_try_recv(out); }
  detail::chan_iterator<T> begin(
      goro::source_location where = goro::source_location::current()) const {
    return detail::chan_iterator<T>(this, where);
  }
  std::default_sentinel_t end() const noexcept { return {}; }
};

// Makes a channel with room for `capacity` values; 0 makes it unbuffered (a rendezvous).
template <class T>
chan<T> make_chan(std::size_t capacity = 0) {
  return chan<T>(new detail::chan_impl<T>(capacity));
}

template <class T>
chan<T> detail::adopt_chan(chan_impl<T>* c) noexcept {
  return chan<T>(c);
}

template <class T>
void detail::chan_iterator<T>::next() {
  v_.reset();
  v_ = h_->do_recv(where_);
}

}  // namespace goro
#pragma GCC visibility pop
