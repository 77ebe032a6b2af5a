// Stream sockets: conn, listener, listen, and the dials (Go's net.Dial, DialTimeout and
// DialContext).
//
// Invariants: every call holds an fd_ref for as long as it touches the descriptor (net.hpp);
// reads and accepts hold rmu, writes wmu, around their waits, so each direction has one waiter.
// A dial owns its socket until it returns: the connect wait registers it first, and the
// netfd is made only once it is connected, so a failed attempt leaves nothing behind. A dial
// with a context lets the context's after_func set a past write deadline on the attempt in
// progress; the attempt detaches (under the interrupt's lock) before it deregisters, so the
// after_func never touches a registration that is gone.
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <exception>
#include <goro/runtime.hpp>
#include <memory>
#include <optional>

#include "base/clock.hpp"
#include "goro/detail/spinlock.hpp"
#include "net/net.hpp"

namespace goro::net {

using detail::fd_ref;
using detail::last_errno;
using detail::netfd;
using detail::sockaddr_any;
using detail::throw_net;
using detail::throw_sys;
using goro::detail::io_result;
using goro::detail::poll_mode;

using detail::drop;
using detail::hold;

// ---- conn ------------------------------------------------------------------------------------

conn& conn::operator=(conn&& o) noexcept {
  detail::move_into(fd_, o.fd_);
  return *this;
}

conn::~conn() { drop(fd_); }

std::size_t conn::read(void* buf, std::size_t n, goro::source_location where) {
  fd_ref f(fd_, "read");
  if (n == 0) return 0;
  hold h(f->rmu, where);
  f->check(poll_mode::read, "read");
  if (f->drained) {
    f->drained = false;
    f->wait(poll_mode::read, "read", where);
  }
  for (;;) {
    const ssize_t r = ::read(f->sysfd, buf, n);
    if (r >= 0) {
      f->drained =
          r > 0 && static_cast<std::size_t>(r) < n && !f->pd->hup.load(std::memory_order_seq_cst);
      return static_cast<std::size_t>(r);
    }
    const int e = last_errno();
    if (e == EINTR) continue;
    if (e != EAGAIN) throw_sys(e, "read", f->net.name, f->laddr(), f->raddr(), "read");
    f->wait(poll_mode::read, "read", where);
  }
}

std::size_t conn::write(const void* buf, std::size_t n, goro::source_location where) {
  fd_ref f(fd_, "write");
  hold h(f->wmu, where);
  f->check(poll_mode::write, "write");
  const char* p = static_cast<const char*>(buf);
  std::size_t left = n;
  while (left > 0) {
    const ssize_t r = ::send(f->sysfd, p, left, MSG_NOSIGNAL);
    if (r > 0) {
      p += r;
      left -= static_cast<std::size_t>(r);
      continue;
    }
    const int e = r == 0 ? EIO : last_errno();
    if (e == EINTR) continue;
    if (e != EAGAIN) throw_sys(e, "write", f->net.name, f->laddr(), f->raddr(), "write");
    f->wait(poll_mode::write, "write", where);
  }
  return n;
}

std::size_t conn::write(std::span<const std::string_view> bufs, goro::source_location where) {
  fd_ref f(fd_, "write");
  hold h(f->wmu, where);
  f->check(poll_mode::write, "write");
  std::size_t total = 0;
  for (std::string_view b : bufs) total += b.size();
  constexpr std::size_t kBatch = 64;  // iovecs per sendmsg (the kernel takes up to IOV_MAX)
  iovec iov[kBatch];
  std::size_t i = 0, off = 0;  // the next byte: bufs[i][off]
  while (i < bufs.size()) {
    std::size_t k = 0;
    for (std::size_t j = i; j < bufs.size() && k < kBatch; ++j) {
      const std::size_t skip = j == i ? off : 0;
      if (bufs[j].size() == skip) continue;
      iov[k].iov_base = const_cast<char*>(bufs[j].data() + skip);
      iov[k].iov_len = bufs[j].size() - skip;
      ++k;
    }
    if (k == 0) break;  // only empty buffers left
    msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = k;
    const ssize_t r = ::sendmsg(f->sysfd, &m, MSG_NOSIGNAL);
    if (r > 0) {
      auto left = static_cast<std::size_t>(r);
      while (left > 0) {
        const std::size_t here = bufs[i].size() - off;
        if (left < here) {
          off += left;
          break;
        }
        left -= here;
        ++i;
        off = 0;
      }
      while (i < bufs.size() && bufs[i].size() == off) {  // step over finished and empty ones
        ++i;
        off = 0;
      }
      continue;
    }
    const int e = r == 0 ? EIO : last_errno();
    if (e == EINTR) continue;
    if (e != EAGAIN) throw_sys(e, "write", f->net.name, f->laddr(), f->raddr(), "writev");
    f->wait(poll_mode::write, "write", where);
  }
  return total;
}

void conn::close() noexcept {
  if (fd_) fd_->close();
}

void conn::close_write() {
  fd_ref f(fd_, "close");
  if (::shutdown(f->sysfd, SHUT_WR) != 0)
    throw_sys(last_errno(), "close", f->net.name, f->laddr(), f->raddr(), "shutdown");
}

void conn::set_deadline(time_point t) { detail::set_deadlines(fd_, t, true, true); }

void conn::set_read_deadline(time_point t) { detail::set_deadlines(fd_, t, true, false); }

void conn::set_write_deadline(time_point t) { detail::set_deadlines(fd_, t, false, true); }

std::string conn::local_addr() const { return fd_ ? fd_->laddr() : std::string(); }
std::string conn::remote_addr() const { return fd_ ? fd_->raddr() : std::string(); }
int conn::native_handle() const noexcept { return fd_ ? fd_->sysfd : -1; }

// ---- listener --------------------------------------------------------------------------------

listener& listener::operator=(listener&& o) noexcept {
  detail::move_into(fd_, o.fd_);
  return *this;
}

listener::~listener() { drop(fd_); }

namespace {

// accept's back-off: sleeps for `d` in steps of at most kBackoffStep, each followed by the
// closed and deadline checks, so that close() (which waits for this call to let go) and the
// deadline end it within a step. A wait on the descriptor would not do: it is the kernel's
// backlog that is ready, and accept keeps failing until a descriptor is free.
constexpr std::chrono::milliseconds kBackoffStep{5};

void back_off(const fd_ref& f, std::chrono::milliseconds d, const goro::source_location& where) {
  const auto until = std::chrono::steady_clock::now() + d;
  for (;;) {
    const auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return;
    goro::sleep_for(std::min<std::chrono::steady_clock::duration>(left, kBackoffStep), where);
    f->check(poll_mode::read, "accept");
  }
}

}  // namespace

conn listener::accept(goro::source_location where) {
  fd_ref f(fd_, "accept");
  hold h(f->rmu, where);
  f->check(poll_mode::read, "accept");
  std::chrono::milliseconds backoff{5};
  for (;;) {
    sockaddr_any ra;
    ra.len = sizeof ra.u;
    const int s = ::accept4(f->sysfd, &ra.u.sa, &ra.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (s >= 0) {
      detail::set_conn_defaults(s, ra.u.sa.sa_family);
      std::string la = detail::local_name(s);
      return conn(netfd::make(s, f->net, std::move(la), detail::format_addr(ra), "accept"));
    }
    const int e = last_errno();
    switch (e) {
      case EINTR:
      case ECONNABORTED:  // the peer gave up before we took it: take the next
        continue;
      case EAGAIN:
        f->wait(poll_mode::read, "accept", where);
        continue;
      case EMFILE:
      case ENFILE:
      case ENOBUFS:
      case ENOMEM:
        // Out of descriptors or memory: the connection waits in the backlog while others are
        // closed. Back off as Go's servers do, instead of ending the listener.
        if (!f->warned) {
          f->warned = true;
          std::fprintf(stderr,
                       "goro: net: accept %s %s: accept: %s; retrying (backing off up to 1s)\n",
                       f->net.name, f->laddr().c_str(), detail::errno_text(e).c_str());
        }
        back_off(f, backoff, where);
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(1));
        continue;
      default:
        throw_sys(e, "accept", f->net.name, {}, f->laddr(), "accept");
    }
  }
}

void listener::close() noexcept {
  if (fd_) fd_->close();
}

void listener::set_deadline(time_point t) { detail::set_deadlines(fd_, t, true, false); }

std::string listener::addr() const { return fd_ ? fd_->laddr() : std::string(); }
int listener::native_handle() const noexcept { return fd_ ? fd_->sysfd : -1; }

listener listen(std::string_view network, std::string_view address) {
  const detail::netinfo n = detail::parse_network(network, "listen", false);
  std::vector<sockaddr_any> addrs =
      detail::resolve(n, address, "listen", goro::detail::kNever, nullptr, true);
  sockaddr_any a = addrs.front();
  const bool is_unix = n.family == AF_UNIX;
  std::string shown = detail::format_error_addr(a, address);
  int s = -1;
  try {
    s = detail::new_socket(n, a.u.sa.sa_family, "listen", shown);
  } catch (const error& e) {
    // No IPv6 in this kernel: "tcp" on every interface falls back to IPv4's.
    if (e.code() != std::errc::address_family_not_supported || n.family != AF_UNSPEC ||
        a.u.sa.sa_family != AF_INET6)
      throw;
    const int port = ntohs(a.u.in6.sin6_port);
    a = sockaddr_any{};
    a.u.in4.sin_family = AF_INET;
    a.u.in4.sin_port = htons(static_cast<std::uint16_t>(port));
    a.len = sizeof(sockaddr_in);
    shown = detail::format_error_addr(a, address);
    s = detail::new_socket(n, AF_INET, "listen", shown);
  }
  if (!is_unix) {
    const int one = 1;
    (void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  }
  if (::bind(s, &a.u.sa, a.len) != 0) {
    const int e = last_errno();
    ::close(s);
    throw_sys(e, "listen", n.name, {}, shown, "bind");
  }
  // Above the kernel's cap (net.core.somaxconn), which then applies: Go reads that cap.
  if (::listen(s, 65535) != 0) {
    const int e = last_errno();
    ::close(s);
    if (is_unix && address[0] != '@') ::unlink(shown.c_str());
    throw_sys(e, "listen", n.name, {}, shown, "listen");
  }
  std::string la = is_unix ? shown : detail::local_name(s);
  netfd* f = nullptr;
  try {
    f = netfd::make(s, n, std::move(la), {}, "listen");
  } catch (...) {
    if (is_unix && address[0] != '@') ::unlink(shown.c_str());
    throw;
  }
  if (is_unix && address[0] != '@') f->unlink_path = shown;
  return listener(f);
}

// ---- dial ------------------------------------------------------------------------------------

namespace {

// What a context's after_func and the attempt in progress share (see the top of the file).
struct dial_interrupt {
  goro::detail::spinlock lock;
  goro::detail::poll_desc* pd GORO_GUARDED_BY(lock) = nullptr;
  bool fired GORO_GUARDED_BY(lock) = false;

  void fire() noexcept {
    lock.lock();
    fired = true;
    if (pd) goro::detail::io_set_deadline(pd, poll_mode::write, 1);  // long past: no timer
    lock.unlock();
  }
  void attach(goro::detail::poll_desc* p) noexcept {
    lock.lock();
    pd = p;
    if (fired) goro::detail::io_set_deadline(p, poll_mode::write, 1);
    lock.unlock();
  }
  void detach() noexcept {
    lock.lock();
    pd = nullptr;
    lock.unlock();
  }
};

[[noreturn]] void throw_ctx(const goro::context& ctx, const char* net, const std::string& addr) {
  const std::error_code e = ctx.err();
  throw error(e, "dial", net, {}, addr, e.message());
}

// One connect, to a: a connected netfd, or throws.
netfd* connect_one(const detail::netinfo& n, const sockaddr_any& a, std::string_view address,
                   std::int64_t deadline, dial_interrupt* intr, const goro::context* ctx) {
  const std::string ra = n.family == AF_UNIX ? std::string(address) : detail::format_addr(a);
  const std::string shown = detail::format_error_addr(a, address);  // in errors
  const int s = detail::new_socket(n, a.u.sa.sa_family, "dial", shown);
  int e = ::connect(s, &a.u.sa, a.len) == 0 ? 0 : last_errno();
  if (e != 0 && e != EINPROGRESS && e != EALREADY && e != EINTR) {
    ::close(s);
    throw_sys(e, "dial", n.name, {}, shown, "connect");
  }
  goro::detail::poll_desc* pd = goro::detail::io_register(s);
  if (!pd) {
    e = last_errno();
    ::close(s);
    throw_sys(e, "dial", n.name, {}, shown, "epoll_ctl");
  }
  std::string la;
  try {
    if (e != 0) {
      if (intr) intr->attach(pd);
      if (deadline != goro::detail::kNever)
        goro::detail::io_set_deadline(pd, poll_mode::write, deadline);
      for (;;) {
        const io_result r = goro::detail::io_wait(pd, poll_mode::write, goro::source_location());
        if (r != io_result::ready) {
          if (ctx && ctx->err()) throw_ctx(*ctx, n.name, shown);
          throw_net(errc::timeout, "dial", n.name, {}, shown);
        }
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = last_errno();
        if (err == EINPROGRESS || err == EALREADY || err == EINTR) continue;
        if (err != 0 && err != EISCONN) throw_sys(err, "dial", n.name, {}, shown, "connect");
        // Writable and no error may still be "not yet" (Go checks the same way).
        sockaddr_any peer;
        peer.len = sizeof peer.u;
        if (getpeername(s, &peer.u.sa, &peer.len) == 0) break;
        if (last_errno() != ENOTCONN)
          throw_sys(last_errno(), "dial", n.name, {}, shown, "getpeername");
      }
      if (intr) intr->detach();
      goro::detail::io_set_deadline(pd, poll_mode::write, 0);
    }
    detail::set_conn_defaults(s, a.u.sa.sa_family);
    la = detail::local_name(s);
  } catch (...) {
    if (intr) intr->detach();
    goro::detail::io_deregister(pd);
    ::close(s);
    throw;
  }
  return netfd::adopt(s, pd, n, std::move(la), ra);  // on failure it cleans up itself
}

netfd* dial_impl(std::string_view network, std::string_view address, std::int64_t deadline,
                 const goro::context* ctx) {
  const detail::netinfo n = detail::parse_network(network, "dial", false);
  std::shared_ptr<dial_interrupt> intr;
  goro::after_func_stop stop;
  if (ctx) {
    if (ctx->err()) throw_ctx(*ctx, n.name, {});
    if (std::optional<time_point> d = ctx->deadline()) {
      const std::int64_t dn =
          std::chrono::duration_cast<std::chrono::nanoseconds>(d->time_since_epoch()).count();
      deadline = std::min(deadline, std::max<std::int64_t>(dn, 1));
    }
    if (ctx->done()) {
      intr = std::make_shared<dial_interrupt>();
      stop = goro::after_func(*ctx, [intr] { intr->fire(); });
    }
  }
  struct stopper {
    goro::after_func_stop& s;
    ~stopper() { s(); }
  } stop_at_exit{stop};

  std::vector<sockaddr_any> addrs = detail::resolve(n, address, "dial", deadline, ctx, false);
  std::exception_ptr first;  // the first attempt's error is the one thrown, as Go's
  for (std::size_t i = 0; i < addrs.size(); ++i) {
    std::int64_t attempt = deadline;
    if (deadline != goro::detail::kNever) {
      // Go's partialDeadline: the time left shared among the addresses left, at least 2 s each
      // (or all that is left).
      const std::int64_t now = goro::detail::now_ns();
      const std::int64_t remaining = deadline - now;
      if (remaining <= 0) {
        if (first) break;
        const std::string shown = detail::format_error_addr(addrs[i], address);
        if (ctx && ctx->err()) throw_ctx(*ctx, n.name, shown);
        throw_net(errc::timeout, "dial", n.name, {}, shown);
      }
      constexpr std::int64_t kSaneMinimum = 2'000'000'000;
      std::int64_t part = remaining / static_cast<std::int64_t>(addrs.size() - i);
      if (part < kSaneMinimum) part = std::min(remaining, kSaneMinimum);
      attempt = now + part;
    }
    try {
      return connect_one(n, addrs[i], address, attempt, intr.get(), ctx);
    } catch (const error&) {
      if (!first) first = std::current_exception();
      if (ctx && ctx->err()) break;
    }
  }
  std::rethrow_exception(first);
}

}  // namespace

conn dial(std::string_view network, std::string_view address) {
  return conn(dial_impl(network, address, goro::detail::kNever, nullptr));
}

conn dial_timeout(std::string_view network, std::string_view address,
                  std::chrono::nanoseconds timeout) {
  const std::int64_t now = goro::detail::now_ns();
  // Go's Dialer.Timeout: 0 is none; a negative one has passed already.
  const std::int64_t deadline = timeout.count() == 0 ? goro::detail::kNever
                                : timeout.count() < 0
                                    ? now
                                    : goro::detail::deadline_after(now, timeout.count());
  return conn(dial_impl(network, address, deadline, nullptr));
}

conn dial(const goro::context& ctx, std::string_view network, std::string_view address) {
  return conn(dial_impl(network, address, goro::detail::kNever, &ctx));
}

}  // namespace goro::net
