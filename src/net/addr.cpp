// Addresses and errors: net::error and the "net" category, network names, Go's host:port
// parsing (net.SplitHostPort's rules and texts), IP literals, the name lookup on another
// goroutine, and the printing of socket addresses.
//
// Invariants: resolve() never blocks a processor: a literal needs no system call; a name is
// looked up by a goroutine of its own inside goro::blocking(), which hands its result over a
// channel of capacity one, so a caller that gave up (deadline, cancel) leaves the lookup to
// finish and drop its result, and nothing waits on it.
#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstring>
#include <exception>
#include <goro/chan.hpp>
#include <goro/runtime.hpp>
#include <goro/select.hpp>
#include <goro/time.hpp>
#include <optional>
#include <string>

#include "base/clock.hpp"
#include "net/net.hpp"

namespace goro::net {

namespace {

class net_category : public std::error_category {
 public:
  const char* name() const noexcept override { return "net"; }
  std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::closed:
        return "use of closed network connection";
      case errc::timeout:
        return "i/o timeout";
      case errc::unknown_network:
        return "unknown network";
      case errc::bad_address:
        return "bad address";
      case errc::no_such_host:
        return "no such host";
      case errc::no_suitable_address:
        return "no suitable address found";
    }
    return "unknown net error";
  }
};

std::string what_text(const std::error_code& code, const std::string& op, const std::string& net,
                      const std::string& source, const std::string& addr,
                      const std::string& reason) {
  std::string s = op;
  if (!net.empty()) s += " " + net;
  if (!source.empty()) s += " " + source;
  if (!addr.empty()) s += (source.empty() ? " " : "->") + addr;
  s += ": ";
  s += reason.empty() ? code.message() : reason;
  return s;
}

}  // namespace

const std::error_category& category() noexcept {
  static const net_category c;
  return c;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

error::error(std::error_code code, std::string op, std::string network, const std::string& source,
             std::string addr, const std::string& reason)
    : std::system_error(code), what_(what_text(code, op, network, source, addr, reason)) {
  // Moved in only now: members are initialised in declaration order (op_ before what_), so
  // initialising them above would hand what_text() moved-from strings.
  op_ = std::move(op);
  net_ = std::move(network);
  addr_ = std::move(addr);
}

bool error::timeout() const noexcept {
  return code() == errc::timeout || code() == goro::context_errc::deadline_exceeded;
}

}  // namespace goro::net

namespace goro::net::detail {

std::string errno_text(int err) {
  std::string s = std::generic_category().message(err);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

void throw_sys(int err, const char* op, const char* net, const std::string& source,
               const std::string& addr, const char* syscall) {
  throw error(std::error_code(err, std::generic_category()), op, net, source, addr,
              std::string(syscall) + ": " + errno_text(err));
}

void throw_net(errc e, const char* op, const char* net, const std::string& source,
               const std::string& addr, const std::string& reason) {
  throw error(make_error_code(e), op, net, source, addr, reason);
}

namespace {

// Go's AddrError: "address ADDR: WHY".
[[noreturn]] void throw_addr(errc e, const char* op, const char* net, std::string_view addr,
                             const char* why) {
  std::string reason =
      addr.empty() ? std::string(why) : "address " + std::string(addr) + ": " + why;
  throw_net(e, op, net, {}, {}, reason);
}

}  // namespace

netinfo parse_network(std::string_view network, const char* op, bool packet) {
  static constexpr netinfo kStream[] = {{"tcp", AF_UNSPEC, SOCK_STREAM},
                                        {"tcp4", AF_INET, SOCK_STREAM},
                                        {"tcp6", AF_INET6, SOCK_STREAM},
                                        {"unix", AF_UNIX, SOCK_STREAM}};
  static constexpr netinfo kPacket[] = {{"udp", AF_UNSPEC, SOCK_DGRAM},
                                        {"udp4", AF_INET, SOCK_DGRAM},
                                        {"udp6", AF_INET6, SOCK_DGRAM}};
  if (packet) {
    for (const netinfo& n : kPacket)
      if (network == n.name) return n;
  } else {
    for (const netinfo& n : kStream)
      if (network == n.name) return n;
  }
  const std::string name(network);
  throw error(make_error_code(errc::unknown_network), op, name, {}, {}, "unknown network " + name);
}

std::string format_addr(const sockaddr_any& a) {
  char buf[INET6_ADDRSTRLEN];
  switch (a.u.sa.sa_family) {
    case AF_INET:
      inet_ntop(AF_INET, &a.u.in4.sin_addr, buf, sizeof buf);
      return std::string(buf) + ":" + std::to_string(ntohs(a.u.in4.sin_port));
    case AF_INET6: {
      const in6_addr& ip = a.u.in6.sin6_addr;
      const std::string port = std::to_string(ntohs(a.u.in6.sin6_port));
      if (IN6_IS_ADDR_V4MAPPED(&ip)) {  // Go prints ::ffff:a.b.c.d as a.b.c.d
        inet_ntop(AF_INET, &ip.s6_addr[12], buf, sizeof buf);
        return std::string(buf) + ":" + port;
      }
      inet_ntop(AF_INET6, &ip, buf, sizeof buf);
      std::string host(buf);
      if (a.u.in6.sin6_scope_id != 0) {
        char ifname[IF_NAMESIZE];
        if (if_indextoname(a.u.in6.sin6_scope_id, ifname))
          host += std::string("%") + ifname;
        else
          host += "%" + std::to_string(a.u.in6.sin6_scope_id);
      }
      return "[" + host + "]:" + port;
    }
    case AF_UNIX: {
      const std::size_t off = offsetof(sockaddr_un, sun_path);
      if (a.len <= off) return {};
      std::size_t n = a.len - off;
      const char* p = a.u.un.sun_path;
      if (p[0] == '\0') return "@" + std::string(p + 1, n - 1);  // abstract
      return std::string(p, strnlen(p, n));
    }
    default:
      return {};
  }
}

std::string format_error_addr(const sockaddr_any& a, std::string_view address) {
  const int f = a.u.sa.sa_family;
  if (f == AF_UNIX) return std::string(address);
  // "" is ":0" to a listen (Go's too).
  if (!address.empty() && address.front() != ':') return format_addr(a);
  const std::uint16_t port = f == AF_INET    ? a.u.in4.sin_port
                             : f == AF_INET6 ? a.u.in6.sin6_port
                                             : std::uint16_t{0};
  return ":" + std::to_string(ntohs(port));
}

std::string local_name(int fd) {
  sockaddr_any a;
  a.len = sizeof a.u;
  if (getsockname(fd, &a.u.sa, &a.len) != 0) return {};
  return format_addr(a);
}

namespace {

// net.SplitHostPort, with Go's error texts.
void split_host_port(std::string_view hp, std::string_view& host, std::string_view& port,
                     const char* op, const char* net) {
  const auto fail = [&](const char* why) { throw_addr(errc::bad_address, op, net, hp, why); };
  const std::size_t i = hp.rfind(':');
  if (i == std::string_view::npos) fail("missing port in address");
  std::size_t j = 0, k = 0;
  if (!hp.empty() && hp[0] == '[') {
    const std::size_t end = hp.find(']');
    if (end == std::string_view::npos) fail("missing ']' in address");
    if (end + 1 == hp.size()) fail("missing port in address");
    if (end + 1 != i)
      fail(hp[end + 1] == ':' ? "too many colons in address" : "missing port in address");
    host = hp.substr(1, end - 1);
    j = 1;
    k = end + 1;
  } else {
    host = hp.substr(0, i);
    if (host.find(':') != std::string_view::npos) fail("too many colons in address");
  }
  if (hp.find('[', j) != std::string_view::npos) fail("unexpected '[' in address");
  if (hp.find(']', k) != std::string_view::npos) fail("unexpected ']' in address");
  port = hp.substr(i + 1);
}

// Go's parsePort and LookupPort: decimal (a sign allowed, as Go's), or a service name from
// /etc/services; 0..65535.
int parse_port(std::string_view service, const netinfo& n, const char* op) {
  std::string_view digits = service;
  bool neg = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    neg = digits[0] == '-';
    digits.remove_prefix(1);
  }
  const bool numeric = !digits.empty() && std::all_of(digits.begin(), digits.end(),
                                                      [](char c) { return c >= '0' && c <= '9'; });
  long port = 0;
  if (numeric) {
    for (char c : digits) {
      port = port * 10 + (c - '0');
      if (port > 65535) break;
    }
    if (neg) port = -port;
  } else if (service.empty()) {
    port = 0;  // Go: an empty port is 0
  } else {
    const std::string name(service);
    const char* proto = n.sotype == SOCK_DGRAM ? "udp" : "tcp";
    servent se{};
    servent* found = nullptr;
    char buf[1024];
    if (getservbyname_r(name.c_str(), proto, &se, buf, sizeof buf, &found) != 0 || !found) {
      const std::string what = std::string(proto) + "/" + name;
      throw_addr(errc::bad_address, op, n.name, what, "unknown port");
    }
    port = ntohs(static_cast<std::uint16_t>(found->s_port));
  }
  if (port < 0 || port > 65535) throw_addr(errc::bad_address, op, n.name, service, "invalid port");
  return static_cast<int>(port);
}

sockaddr_any make_v4(const in_addr& ip, int port) {
  sockaddr_any a;
  a.u.in4.sin_family = AF_INET;
  a.u.in4.sin_port = htons(static_cast<std::uint16_t>(port));
  a.u.in4.sin_addr = ip;
  a.len = sizeof(sockaddr_in);
  return a;
}

sockaddr_any make_v6(const in6_addr& ip, int port, std::uint32_t scope) {
  sockaddr_any a;
  a.u.in6.sin6_family = AF_INET6;
  a.u.in6.sin6_port = htons(static_cast<std::uint16_t>(port));
  a.u.in6.sin6_addr = ip;
  a.u.in6.sin6_scope_id = scope;
  a.len = sizeof(sockaddr_in6);
  return a;
}

// An IP literal ("1.2.3.4", "::1", "fe80::1%eth0"), or nullopt for a name.
std::optional<sockaddr_any> parse_ip(const std::string& host, int port) {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return make_v4(v4, port);
  std::string ip = host;
  std::uint32_t scope = 0;
  if (const std::size_t pct = host.rfind('%'); pct != std::string::npos && pct > 0) {
    ip = host.substr(0, pct);
    const std::string zone = host.substr(pct + 1);
    scope = if_nametoindex(zone.c_str());
    if (scope == 0 && !zone.empty() && std::all_of(zone.begin(), zone.end(), ::isdigit))
      scope = static_cast<std::uint32_t>(std::stoul(zone));
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, ip.c_str(), &v6) == 1) return make_v6(v6, port, scope);
  return std::nullopt;
}

bool family_fits(const netinfo& n, int family) {
  return n.family == AF_UNSPEC || n.family == family;
}

// What the lookup goroutine hands back.
struct lookup_result {
  int rc = 0;   // getaddrinfo's
  int err = 0;  // errno, for EAI_SYSTEM
  std::vector<sockaddr_any> addrs;
};

lookup_result getaddrinfo_all(const std::string& host, int family, int sotype, int port) {
  lookup_result r;
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = sotype;
  addrinfo* list = nullptr;
  r.rc = getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (r.rc == EAI_SYSTEM) r.err = last_errno();
  if (r.rc != 0) return r;
  try {
    for (addrinfo* ai = list; ai; ai = ai->ai_next) {
      sockaddr_any a;
      if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(sockaddr_in)) {
        a = make_v4(reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr, port);
      } else if (ai->ai_family == AF_INET6 && ai->ai_addrlen >= sizeof(sockaddr_in6)) {
        const auto* s6 = reinterpret_cast<const sockaddr_in6*>(ai->ai_addr);
        a = make_v6(s6->sin6_addr, port, s6->sin6_scope_id);
      } else {
        continue;
      }
      const bool dup = std::any_of(r.addrs.begin(), r.addrs.end(), [&](const sockaddr_any& b) {
        return b.len == a.len && std::memcmp(&b.u, &a.u, a.len) == 0;
      });
      if (!dup) r.addrs.push_back(a);
    }
  } catch (...) {
    r.addrs.clear();
    r.rc = EAI_MEMORY;
  }
  freeaddrinfo(list);
  return r;
}

// Runs the lookup on its own goroutine and waits for it, the deadline or ctx.
lookup_result lookup(const std::string& host, const netinfo& n, int port, const char* op,
                     std::int64_t deadline, const goro::context* ctx) {
  const std::string reason_prefix = "lookup " + host + ": ";
  if (deadline != goro::detail::kNever && deadline <= goro::detail::now_ns())
    throw_net(errc::timeout, op, n.name, {}, {}, reason_prefix + "i/o timeout");
  auto ch = goro::make_chan<lookup_result>(1);
  const int family = n.family, sotype = n.sotype;
  goro::go([ch, host, family, sotype, port]() noexcept {
    lookup_result r;
    try {
      r = goro::blocking([&] { return getaddrinfo_all(host, family, sotype, port); });
    } catch (...) {
      r.rc = EAI_MEMORY;
    }
    try {
      ch.send(std::move(r));  // capacity 1: never blocks
    } catch (...) {
    }
  });
  std::optional<lookup_result> got;
  if (deadline == goro::detail::kNever && !ctx) {
    got = ch.recv();
  } else {
    std::optional<goro::timer> t;
    goro::recv_chan<time_point> tc;  // nil: no deadline
    if (deadline != goro::detail::kNever) {
      t.emplace(std::chrono::nanoseconds(deadline - goro::detail::now_ns()));
      tc = t->c();
    }
    goro::recv_chan<goro::signal> dc;
    if (ctx) dc = ctx->done();
    bool timed_out = false, cancelled = false;
    goro::select(goro::on_recv(ch, [&](std::optional<lookup_result> v) { got = std::move(v); }),
                 goro::on_recv(tc, [&] { timed_out = true; }),
                 goro::on_recv(dc, [&] { cancelled = true; }));
    if (timed_out) throw_net(errc::timeout, op, n.name, {}, {}, reason_prefix + "i/o timeout");
    if (cancelled) {
      const std::error_code e = ctx->err();
      throw error(e, op, n.name, {}, {}, reason_prefix + e.message());
    }
  }
  if (!got) throw_net(errc::no_such_host, op, n.name, {}, {}, reason_prefix + "no such host");
  return std::move(*got);
}

}  // namespace

std::vector<sockaddr_any> resolve(const netinfo& n, std::string_view address, const char* op,
                                  std::int64_t deadline, const goro::context* ctx, bool passive) {
  if (n.family == AF_UNIX) {
    if (address.empty()) throw_net(errc::bad_address, op, n.name, {}, {}, "missing address");
    sockaddr_any a;
    a.u.un.sun_family = AF_UNIX;
    const std::string path(address);
    if (path.size() >= sizeof a.u.un.sun_path)
      throw_sys(EINVAL, op, n.name, {}, path, passive ? "bind" : "connect");
    std::memcpy(a.u.un.sun_path, path.data(), path.size());
    a.u.un.sun_path[path.size()] = '\0';
    if (path[0] == '@') {  // abstract: no file; the name is the bytes after a NUL
      a.u.un.sun_path[0] = '\0';
      a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
    } else {
      a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    }
    return {a};
  }

  // Go: Dial needs an address; Listen("tcp", "") is ":0".
  if (address.empty()) {
    if (!passive) throw_net(errc::bad_address, op, n.name, {}, {}, "missing address");
    address = ":0";
  }
  std::string_view host_v, port_v;
  split_host_port(address, host_v, port_v, op, n.name);
  const int port = parse_port(port_v, n, op);
  const std::string host(host_v);

  if (host.empty()) {
    // Listen: every interface ([::] takes IPv4 too unless the network is tcp6/udp6). Dial: this
    // machine.
    if (n.family == AF_INET)
      return {make_v4({htonl(passive ? INADDR_ANY : INADDR_LOOPBACK)}, port)};
    if (n.family == AF_INET6 || passive)
      return {make_v6(passive ? in6addr_any : in6addr_loopback, port, 0)};
    return {make_v4({htonl(INADDR_LOOPBACK)}, port)};
  }
  if (std::optional<sockaddr_any> lit = parse_ip(host, port)) {
    if (!family_fits(n, lit->u.sa.sa_family))
      throw_addr(errc::no_suitable_address, op, n.name, host, "no suitable address found");
    return {*lit};
  }

  lookup_result r = lookup(host, n, port, op, deadline, ctx);
  const std::string prefix = "lookup " + host + ": ";
  switch (r.rc) {
    case 0:
      break;
    case EAI_NONAME:
    case EAI_NODATA:
    case EAI_ADDRFAMILY:
      throw_net(errc::no_such_host, op, n.name, {}, {}, prefix + "no such host");
    case EAI_AGAIN:
      throw error(std::make_error_code(std::errc::resource_unavailable_try_again), op, n.name, {},
                  {}, prefix + "temporary failure in name resolution");
    case EAI_SYSTEM:
      throw error(std::error_code(r.err, std::generic_category()), op, n.name, {}, {},
                  prefix + errno_text(r.err));
    case EAI_MEMORY:
      throw std::bad_alloc();
    default: {
      std::string why = gai_strerror(r.rc);
      if (!why.empty())
        why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
      throw_net(errc::no_such_host, op, n.name, {}, {}, prefix + why);
    }
  }
  if (r.addrs.empty())
    throw_addr(errc::no_suitable_address, op, n.name, host, "no suitable address found");
  if (passive && n.family == AF_UNSPEC) {
    // Go's Listen takes the first IPv4 address of a name when there is one.
    auto v4 = std::find_if(r.addrs.begin(), r.addrs.end(),
                           [](const sockaddr_any& a) { return a.u.sa.sa_family == AF_INET; });
    if (v4 != r.addrs.end()) return {*v4};
  }
  return std::move(r.addrs);
}

}  // namespace goro::net::detail
