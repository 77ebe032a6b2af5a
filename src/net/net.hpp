// src/net: the top layer. goro::net (include/goro/net.hpp) on src/io's registrations: a netfd
// is one socket, its poller registration and the count of calls using it; addr.cpp parses,
// resolves and prints addresses and builds Go's error texts; stream.cpp has conn, listener and
// dial; packet.cpp has packet_conn; reader.cpp the buffered reader and read_full.
//
// What netfd keeps (src/io's contract for a registration, as Go's internal/poll keeps it with
// its fdMutex):
//  - Every call on a socket holds a reference from before its first use of the descriptor or
//    the registration until after its last (acquire()/release(), a ref guard). close() marks
//    the state closed (no new reference is given from then on) and, holding a reference of its
//    own meanwhile, evicts the waiters: the registration it evicts is still this socket's (a
//    destroy before the eviction would free the record for the next socket). The reference
//    count's last holder deregisters and closes the descriptor, exactly once (the kDestroyed
//    bit, won by a CAS). Every close() waits for that, as Go's Close does, so a port or a
//    descriptor number is free again when it returns.
//  - The owner's destructor (drop()) frees the netfd only after every close() in progress has
//    returned (closers_): the usual way to stop a connection is another goroutine's close(),
//    which may still be inside the netfd when the woken owner ends.
//  - At most one wait per direction (src/io's rule): reads are serialised by rmu, writes by
//    wmu, each taken after the reference (so close() wakes the holder, which releases it).
//  - The addresses are set when the netfd is made and never change.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <cstdint>
#include <goro/net.hpp>
#include <goro/runtime.hpp>
#include <goro/sync.hpp>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "goroutine/goroutine.hpp"
#include "io/io.hpp"

namespace goro::net::detail {

// errno after a system call, read through the switch-safe accessor (see goroutine.hpp): these
// calls loop around parks, after which the goroutine may run on another thread.
inline int last_errno() noexcept { return *goro::detail::errno_ptr(); }

// A socket address of any family goro::net speaks, all zero to begin with. The largest member
// comes first: `u{}` zero-initialises a union's first member only (clang leaves the rest, a
// Unix path's terminating NUL among it, as it was).
struct sockaddr_any {
  union {
    sockaddr_storage ss;
    sockaddr sa;
    sockaddr_in in4;
    sockaddr_in6 in6;
    sockaddr_un un;
  } u{};
  socklen_t len = 0;
};

// What a network name means.
struct netinfo {
  const char* name;  // "tcp", "tcp4", "tcp6", "unix", "udp", "udp4", "udp6" (static)
  int family;        // AF_UNSPEC for "tcp" and "udp" (either), AF_INET, AF_INET6, AF_UNIX
  int sotype;        // SOCK_STREAM or SOCK_DGRAM
};

// The stream networks (packet false) or the datagram ones (packet true); anything else throws
// error "OP NETWORK: unknown network NETWORK".
netinfo parse_network(std::string_view network, const char* op, bool packet);

// "127.0.0.1:80", "[::1]:80" (an IPv4-mapped address prints as IPv4), a Unix path ("@name" for
// an abstract one), "" for an unnamed Unix socket.
std::string format_addr(const sockaddr_any& a);
// The address a listen's or a dial's errors show, as Go's: a Unix path as given, ":PORT" when
// `address` named no host (Go's address has no IP then), else format_addr(a). A listener's
// addr() and a conn's remote_addr() are the socket's real ones.
std::string format_error_addr(const sockaddr_any& a, std::string_view address);
// The socket's own address (getsockname), formatted; "" if the kernel will not say.
std::string local_name(int fd);

// The addresses `address` names for network n, in the order to try them: an IP literal or an
// empty host at once; a name through getaddrinfo on another goroutine inside goro::blocking(),
// waited for until `deadline` (steady ns; kNever: none) or until *ctx is done (ctx may be
// null). passive: for listen (an empty host is every interface: [::] dual-stack for "tcp" and
// "udp"). Throws error (op, Go's texts) for a malformed address, a bad port, a failed lookup,
// a deadline or a cancel, and for a Unix path that does not fit.
std::vector<sockaddr_any> resolve(const netinfo& n, std::string_view address, const char* op,
                                  std::int64_t deadline, const goro::context* ctx, bool passive);

// Go's errno texts: strerror's, with a lower-case first letter ("connection refused").
std::string errno_text(int err);
// error for a failed system call: reason "SYSCALL: errno text".
[[noreturn]] void throw_sys(int err, const char* op, const char* net, const std::string& source,
                            const std::string& addr, const char* syscall);
// error with a net::errc code and its text as the reason (or `reason` when given).
[[noreturn]] void throw_net(errc e, const char* op, const char* net, const std::string& source,
                            const std::string& addr, const std::string& reason = {});

// One socket. Made by make(); owned by the conn, listener or packet_conn that holds it, whose
// destructor calls close() and deletes it.
class netfd {
 public:
  // Takes fd (non-blocking, close-on-exec) and registers it; on failure closes fd and throws
  // error(op, ...).
  static netfd* make(int fd, const netinfo& n, std::string laddr, std::string raddr,
                     const char* op);
  // The same for a descriptor registered already (a dial's, after its connect wait); on
  // failure (no memory) deregisters and closes it and throws.
  static netfd* adopt(int fd, goro::detail::poll_desc* pd, const netinfo& n, std::string laddr,
                      std::string raddr);
  netfd(const netfd&) = delete;
  netfd& operator=(const netfd&) = delete;
  ~netfd() = default;

  // A reference for one call; false (and none taken) once close() has begun.
  bool acquire() noexcept;
  void release() noexcept;
  // Idempotent: the first call wakes every wait on the socket and unlinks unlink_path if set;
  // every call returns once the descriptor is closed (when the last call using it has let go).
  void close() noexcept;
  // Whether a close() is still running (drop() waits for none before it frees the netfd).
  bool closing_in_progress() const noexcept {
    return closers_.load(std::memory_order_seq_cst) != 0;
  }

  // Waits for mode's readiness after the non-blocking call said EAGAIN; throws the closed or
  // timeout error for op when that ends the wait instead. `to`, where given, is the address
  // the error shows instead of the socket's remote one (an unconnected socket's write_to).
  void wait(goro::detail::poll_mode mode, const char* op, const goro::source_location& where,
            const std::string* to = nullptr);
  // Go's prepareRead/prepareWrite: throws at once if the socket is closed or mode's deadline
  // has passed, before the system call is tried.
  void check(goro::detail::poll_mode mode, const char* op, const std::string* to = nullptr);
  // Sets mode's deadline: t == time_point{} clears it (the caller holds a reference).
  void set_deadline(goro::detail::poll_mode mode, time_point t);

  [[noreturn]] void throw_closed(const char* op, const std::string* to = nullptr) const;
  // Throws the closed or timeout error for op unless r is ready.
  void fail_unless_ready(goro::detail::io_result r, const char* op,
                         const std::string* to = nullptr) const;
  // The source and address Go's error texts show for op on this socket: a connected socket's
  // "read"/"write" show local->remote, a listener's "accept" or an unconnected datagram socket's
  // calls show the local address alone.
  const std::string& laddr() const noexcept { return laddr_; }
  const std::string& raddr() const noexcept { return raddr_; }

  const int sysfd;
  const netinfo net;
  goro::mutex rmu;          // serialises reads (and accepts): one wait per direction
  goro::mutex wmu;          // serialises writes
  std::string unlink_path;  // a Unix listener's socket file, removed by close()
  bool warned = false;      // a listener's accept said it is backing off (under rmu)
  // The last read returned less than it asked for, and the peer had not hung up (pd->hup):
  // the kernel's queue was empty then, so the next read waits for readiness first instead of
  // trying (and failing with EAGAIN). Safe with edge-triggered epoll: data that arrives after
  // that read raises a new edge, which is in the slot already, in epoll's ready list, or still
  // to come. Not after a hang-up: the read that returned the last bytes may have taken the FIN
  // too (its edge consumed), and the next read returns 0 at once with no edge to wait for.
  // Under rmu.
  bool drained = false;
  int family = AF_UNSPEC;  // a datagram socket's own family (set before it is shared)
  goro::detail::poll_desc* const pd;

 private:
  netfd(int fd, const netinfo& n, goro::detail::poll_desc* pd, std::string laddr,
        std::string raddr) noexcept;
  void destroy() noexcept;

  static constexpr std::uint64_t kClosed = 1ull << 63;
  static constexpr std::uint64_t kDestroyed = 1ull << 62;
  // Calls in progress (the low bits) | kClosed | kDestroyed. seq_cst throughout: the closer's
  // fetch_or and a caller's fetch_add decide between them who sees whom (no reference is given
  // after kClosed, and the count's last release finds kClosed).
  std::atomic<std::uint64_t> state_{0};
  std::atomic<bool> close_begun_{false};  // the first close() wins it (acq_rel exchange)
  // close() calls between their entry and their last touch of *this (seq_cst, read by drop()).
  std::atomic<std::uint32_t> closers_{0};
  // At 1 from construction; destroy() is its done(), every close() waits on it. Its done() is
  // its last touch of its memory, so the netfd may be freed once wait() has returned.
  goro::wait_group destroyed_;
  const std::string laddr_, raddr_;
};

// One call's reference: throws the closed error for op (showing `to`, as netfd::wait) if
// close() has begun, or EINVAL ("OP: invalid argument") on an object that holds no socket.
class fd_ref {
 public:
  fd_ref(netfd* f, const char* op, const std::string* to = nullptr);
  fd_ref(const fd_ref&) = delete;
  fd_ref& operator=(const fd_ref&) = delete;
  ~fd_ref() { f_->release(); }
  netfd* operator->() const noexcept { return f_; }

 private:
  netfd* f_;
};

// Holds a goro::mutex for a scope, locked at the caller's site (dumps show it).
class GORO_SCOPED_CAPABILITY hold {
 public:
  hold(goro::mutex& m, const goro::source_location& where) GORO_ACQUIRE(m) : m_(m) {
    m.lock(where);
  }
  hold(const hold&) = delete;
  hold& operator=(const hold&) = delete;
  ~hold() GORO_RELEASE() { m_.unlock(); }

 private:
  goro::mutex& m_;
};

// The end of an owner (conn, listener, packet_conn): close, wait until no other close() is
// still inside the netfd (one that woke this owner may be between its wait and its return),
// then free.
inline void drop(netfd*& f) noexcept {
  if (!f) return;
  f->close();
  while (f->closing_in_progress()) goro::yield();
  delete f;
  f = nullptr;
}

// A move assignment of an owner: drops what `to` held, takes what `from` held.
inline void move_into(netfd*& to, netfd*& from) noexcept {
  if (&to == &from) return;
  drop(to);
  to = std::exchange(from, nullptr);
}

// The owners' deadline setters: a reference for the call ("set": its closed error), then the
// directions asked for.
void set_deadlines(netfd* f, time_point t, bool read, bool write);

// Sets Go's defaults on a connected TCP socket: TCP_NODELAY, keep-alive every 15 s.
void set_conn_defaults(int fd, int family);
// A new non-blocking, close-on-exec socket for n and `family`, IPV6_V6ONLY set for "tcp6" and
// "udp6" (cleared for "tcp"/"udp"), SO_BROADCAST on UDP; throws error(op, "socket: ...").
int new_socket(const netinfo& n, int family, const char* op, const std::string& addr);

}  // namespace goro::net::detail
