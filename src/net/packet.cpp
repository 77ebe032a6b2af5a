// Datagram sockets: packet_conn and listen_packet (Go's net.ListenPacket and UDPConn's
// ReadFrom and WriteTo).
//
// Invariants: as stream.cpp's: every call holds an fd_ref; read_from holds rmu and write_to
// wmu around their waits. write_to resolves its address before it takes the reference (a
// name's lookup may park for a while and holds nothing of the socket meanwhile).
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/clock.hpp"
#include "net/net.hpp"

namespace goro::net {

using detail::drop;
using detail::fd_ref;
using detail::hold;
using detail::last_errno;
using detail::netfd;
using detail::sockaddr_any;
using detail::throw_sys;
using goro::detail::poll_mode;

namespace {

// a as the socket of `family` takes it: an IPv4 address on a dual-stack IPv6 socket becomes
// ::ffff:a.b.c.d. False if the socket cannot send there.
bool fit(sockaddr_any& a, int family) {
  const int af = a.u.sa.sa_family;
  if (af == family) return true;
  if (family == AF_INET6 && af == AF_INET) {
    sockaddr_any m;
    m.u.in6.sin6_family = AF_INET6;
    m.u.in6.sin6_port = a.u.in4.sin_port;
    m.u.in6.sin6_addr.s6_addr[10] = 0xff;
    m.u.in6.sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&m.u.in6.sin6_addr.s6_addr[12], &a.u.in4.sin_addr, 4);
    m.len = sizeof(sockaddr_in6);
    a = m;
    return true;
  }
  return false;
}

}  // namespace

packet_conn& packet_conn::operator=(packet_conn&& o) noexcept {
  detail::move_into(fd_, o.fd_);
  return *this;
}

packet_conn::~packet_conn() { drop(fd_); }

std::pair<std::size_t, std::string> packet_conn::read_from(void* buf, std::size_t n,
                                                           goro::source_location where) {
  fd_ref f(fd_, "read");
  hold h(f->rmu, where);
  f->check(poll_mode::read, "read");
  for (;;) {
    sockaddr_any from;
    from.len = sizeof from.u;
    const ssize_t r = ::recvfrom(f->sysfd, buf, n, 0, &from.u.sa, &from.len);
    if (r >= 0) return {static_cast<std::size_t>(r), detail::format_addr(from)};
    const int e = last_errno();
    if (e == EINTR) continue;
    if (e != EAGAIN) throw_sys(e, "read", f->net.name, f->laddr(), {}, "recvfrom");
    f->wait(poll_mode::read, "read", where);
  }
}

std::size_t packet_conn::write_to(const void* buf, std::size_t n, std::string_view address,
                                  goro::source_location where) {
  if (!fd_)
    throw error(std::make_error_code(std::errc::invalid_argument), "write", {}, {}, {},
                detail::errno_text(EINVAL));
  std::vector<sockaddr_any> addrs =
      detail::resolve(fd_->net, address, "write", goro::detail::kNever, nullptr, false);
  // family is set before the socket is shared and never changes: no reference needed yet.
  auto to = std::find_if(addrs.begin(), addrs.end(),
                         [&](sockaddr_any& a) { return fit(a, fd_->family); });
  if (to == addrs.end())
    detail::throw_net(errc::no_suitable_address, "write", fd_->net.name, {}, {},
                      "address " + std::string(address) + ": no suitable address found");
  // Go's WriteTo errors show the destination: "write udp LOCAL->TO: i/o timeout".
  const std::string shown = detail::format_addr(*to);
  fd_ref f(fd_, "write", &shown);
  hold h(f->wmu, where);
  f->check(poll_mode::write, "write", &shown);
  for (;;) {
    const ssize_t r = ::sendto(f->sysfd, buf, n, MSG_NOSIGNAL, &to->u.sa, to->len);
    if (r >= 0) return static_cast<std::size_t>(r);
    const int e = last_errno();
    if (e == EINTR) continue;
    if (e != EAGAIN) throw_sys(e, "write", f->net.name, f->laddr(), shown, "sendto");
    f->wait(poll_mode::write, "write", where, &shown);
  }
}

void packet_conn::close() noexcept {
  if (fd_) fd_->close();
}

void packet_conn::set_deadline(time_point t) { detail::set_deadlines(fd_, t, true, true); }

void packet_conn::set_read_deadline(time_point t) { detail::set_deadlines(fd_, t, true, false); }

void packet_conn::set_write_deadline(time_point t) { detail::set_deadlines(fd_, t, false, true); }

std::string packet_conn::local_addr() const { return fd_ ? fd_->laddr() : std::string(); }
int packet_conn::native_handle() const noexcept { return fd_ ? fd_->sysfd : -1; }

packet_conn listen_packet(std::string_view network, std::string_view address) {
  const detail::netinfo n = detail::parse_network(network, "listen", true);
  std::vector<sockaddr_any> addrs =
      detail::resolve(n, address, "listen", goro::detail::kNever, nullptr, true);
  const sockaddr_any& a = addrs.front();
  const std::string shown = detail::format_error_addr(a, address);
  const int family = a.u.sa.sa_family;
  const int s = detail::new_socket(n, family, "listen", shown);
  if (::bind(s, &a.u.sa, a.len) != 0) {
    const int e = last_errno();
    ::close(s);
    throw_sys(e, "listen", n.name, {}, shown, "bind");
  }
  netfd* f = netfd::make(s, n, detail::local_name(s), {}, "listen");
  f->family = family;
  return packet_conn(f);
}

}  // namespace goro::net
