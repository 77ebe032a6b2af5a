// netfd: one socket's registration, reference count and close (the protocol is at the top of
// net.hpp), and the socket options every goro::net socket gets.
#include <netinet/tcp.h>
#include <unistd.h>

#include <chrono>
#include <new>

#include "base/clock.hpp"
#include "net/net.hpp"

namespace goro::net::detail {

using goro::detail::io_result;
using goro::detail::poll_mode;

netfd::netfd(int fd, const netinfo& n, goro::detail::poll_desc* p, std::string laddr,
             std::string raddr) noexcept
    : sysfd(fd), net(n), pd(p), laddr_(std::move(laddr)), raddr_(std::move(raddr)) {
  destroyed_.add(1);  // destroy() is its done()
}

netfd* netfd::make(int fd, const netinfo& n, std::string laddr, std::string raddr, const char* op) {
  goro::detail::poll_desc* p = goro::detail::io_register(fd);
  if (!p) {
    const int err = last_errno();
    ::close(fd);
    throw_sys(err, op, n.name, {}, raddr.empty() ? laddr : raddr, "epoll_ctl");
  }
  return adopt(fd, p, n, std::move(laddr), std::move(raddr));
}

netfd* netfd::adopt(int fd, goro::detail::poll_desc* p, const netinfo& n, std::string laddr,
                    std::string raddr) {
  try {
    return new netfd(fd, n, p, std::move(laddr), std::move(raddr));
  } catch (...) {
    goro::detail::io_deregister(p);
    ::close(fd);
    throw;
  }
}

bool netfd::acquire() noexcept {
  if (state_.fetch_add(1, std::memory_order_seq_cst) & kClosed) {
    release();
    return false;
  }
  return true;
}

void netfd::release() noexcept {
  std::uint64_t v = state_.fetch_sub(1, std::memory_order_seq_cst) - 1;
  if (v == kClosed && state_.compare_exchange_strong(v, kClosed | kDestroyed)) destroy();
}

void netfd::close() noexcept {
  closers_.fetch_add(1, std::memory_order_seq_cst);
  // acq_rel: one first closer; later ones (and their callers) see its effects.
  if (!close_begun_.exchange(true, std::memory_order_acq_rel)) {
    if (!unlink_path.empty()) ::unlink(unlink_path.c_str());
    // kClosed and a reference of our own at once: a call that lets go of the last other
    // reference now cannot destroy (and free pd's record for the next socket) before the
    // eviction below is done; our release() destroys if it is the last.
    state_.fetch_add(kClosed + 1, std::memory_order_seq_cst);
    goro::detail::io_evict(pd);
    release();
  }
  destroyed_.wait();
  closers_.fetch_sub(1, std::memory_order_seq_cst);  // our last touch of *this
}

void netfd::destroy() noexcept {
  goro::detail::io_deregister(pd);
  ::close(sysfd);
  destroyed_.done();
}

void netfd::throw_closed(const char* op, const std::string* to) const {
  throw_net(errc::closed, op, net.name, laddr_, to ? *to : raddr_);
}

void netfd::fail_unless_ready(io_result r, const char* op, const std::string* to) const {
  if (r == io_result::closed) throw_closed(op, to);
  if (r == io_result::timeout) throw_net(errc::timeout, op, net.name, laddr_, to ? *to : raddr_);
}

void netfd::check(poll_mode mode, const char* op, const std::string* to) {
  fail_unless_ready(goro::detail::io_check(pd, mode), op, to);
}

void netfd::wait(poll_mode mode, const char* op, const goro::source_location& where,
                 const std::string* to) {
  fail_unless_ready(goro::detail::io_wait(pd, mode, where), op, to);
}

void netfd::set_deadline(poll_mode mode, time_point t) {
  std::int64_t when = 0;
  if (t != time_point{}) {
    when = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    if (when <= 0) when = 1;  // a time before the clock's epoch: long past, not "none"
  }
  goro::detail::io_set_deadline(pd, mode, when);
}

fd_ref::fd_ref(netfd* f, const char* op, const std::string* to) : f_(f) {
  if (!f)
    throw error(std::make_error_code(std::errc::invalid_argument), op, {}, {}, {},
                errno_text(EINVAL));
  if (!f->acquire()) f->throw_closed(op, to);
}

void set_deadlines(netfd* f, time_point t, bool read, bool write) {
  fd_ref r(f, "set");
  if (read) r->set_deadline(poll_mode::read, t);
  if (write) r->set_deadline(poll_mode::write, t);
}

void set_conn_defaults(int fd, int family) {
  if (family != AF_INET && family != AF_INET6) return;
  const int one = 1, secs = 15;
  // Go's defaults; a failure is not an error there either (the connection works without).
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &secs, sizeof secs);
  (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &secs, sizeof secs);
}

int new_socket(const netinfo& n, int family, const char* op, const std::string& addr) {
  const int fd = ::socket(family, n.sotype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_sys(last_errno(), op, n.name, {}, addr, "socket");
  if (family == AF_INET6) {
    const int v6only = n.family == AF_INET6 ? 1 : 0;
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  if (n.sotype == SOCK_DGRAM && family != AF_UNIX) {
    const int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
  }
  return fd;
}

}  // namespace goro::net::detail
