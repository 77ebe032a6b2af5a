// goro/net.hpp: Go's net package for goroutines. TCP and Unix stream sockets (conn, listener,
// listen, dial, dial_timeout), UDP (packet_conn, listen_packet), and the helpers a server
// reaches for at once (read_full, a buffered reader with line reads, vectored writes).
//
// A goroutine that waits on the network parks: its processor runs other goroutines, dumps show it
// as [IO wait] at the calling line, and the deadlock detector never reports while one waits (the
// kernel can wake it), as in Go. From a plain thread, or inside goro::blocking(), every call
// blocks the thread instead.
//
//   auto ln = goro::net::listen("tcp", ":8080");
//   for (;;) {
//     goro::go([c = ln.accept()]() mutable {
//       char buf[4096];
//       while (std::size_t n = c.read(buf, sizeof buf)) c.write(buf, n);
//     });
//   }
//
// Addresses are Go's: "127.0.0.1:8080", "[::1]:0", ":0" (every interface, any port),
// "localhost:8080" (names are resolved on another thread, so the lookup holds no processor and
// dial_timeout's timeout covers it; dial tries each resolved address in order until one
// connects), and a file system path for "unix".
//
// Go's socket defaults: TCP_NODELAY and keep-alive (15 s) on TCP connections, SO_REUSEADDR on
// TCP listeners, close-on-exec everywhere, and no SIGPIPE ever (a write to a connection the
// peer closed throws error). native_handle() gives the descriptor for any other option; it stays
// the object's, so do not close it, and do not make it blocking.
//
// Concurrency: one goroutine may read while another writes on the same conn, and close(), the
// deadlines and the addresses may be called from anywhere at any time. Two goroutines reading
// the same conn at once (or writing) is not supported, as in Go's internal/poll it serialises
// them: here the second waits until the first's call has returned (see conn::read).
//
// Memory ordering: none beyond the kernel's. What a writer did before its write is visible to
// the reader after the read that returns those bytes, as for any two threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "goro/context.hpp"
#include "goro/source_location.hpp"
#include "goro/time.hpp"

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro::net {

namespace detail {
class netfd;  // the descriptor, its poller registration and its reference count (src/net)
}

// Every failure of a network call. what() is Go's text, "OP NET [SRC->]ADDR: REASON":
//   "dial tcp 127.0.0.1:1: connect: connection refused"
//   "read tcp 127.0.0.1:40512->127.0.0.1:8080: i/o timeout"
//   "accept tcp [::]:8080: use of closed network connection"
// code() carries errno where there is one (ECONNREFUSED, ECONNRESET, EPIPE, ...), and a
// net::errc value in the "net" category otherwise (errc::timeout for an expired deadline).
class error : public std::system_error {
 public:
  error(std::error_code code, std::string op, std::string network, const std::string& source,
        std::string addr, const std::string& reason = {});
  // True when a deadline (or dial_timeout's timeout) expired: the "i/o timeout" errors.
  bool timeout() const noexcept;
  const std::string& op() const noexcept { return op_; }        // "dial", "read", "accept", ...
  const std::string& network() const noexcept { return net_; }  // "tcp", "unix", "udp", ...
  // The address after the source in what(): the remote one, a listen's or a dial's, or a
  // listener's for accept's system-call errors; empty where what() shows the socket's own
  // address alone (accept's closed and timeout errors, read_from's).
  const std::string& addr() const noexcept { return addr_; }
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  std::string op_, net_, addr_, what_;
};

// The errors that are not errno values (category name "net", messages as Go's).
enum class errc {
  closed = 1,           // "use of closed network connection"
  timeout,              // "i/o timeout"
  unknown_network,      // "unknown network"
  bad_address,          // "missing port in address", "too many colons in address", ...
  no_such_host,         // "no such host"
  no_suitable_address,  // "no suitable address found"
};
const std::error_category& category() noexcept;
std::error_code make_error_code(errc e) noexcept;

// A connected stream socket (TCP or Unix). Move-only; the destructor closes.
class conn {
 public:
  conn() noexcept = default;  // not connected: operator bool is false, every call throws
  conn(conn&& o) noexcept : fd_(std::exchange(o.fd_, nullptr)) {}
  conn& operator=(conn&& o) noexcept;
  conn(const conn&) = delete;
  conn& operator=(const conn&) = delete;
  ~conn();

  // Blocks until at least one byte is there, and returns how many it copied (at most n); 0 at
  // end of stream (and for n == 0). Throws error at the read deadline ("i/o timeout"), on a
  // reset ("connection reset by peer") and after close(). A second reader on the same conn
  // waits until the first's read has returned, then reads.
  std::size_t read(void* buf, std::size_t n,
                   goro::source_location where = goro::source_location::current());
  // Writes all n bytes (blocking as long as the peer does not read) and returns n, or throws
  // error; after a throw, how much reached the peer is unknown (Go's Write reports a count; ask
  // for it if you need it). Never raises SIGPIPE.
  std::size_t write(const void* buf, std::size_t n,
                    goro::source_location where = goro::source_location::current());
  std::size_t write(std::string_view s,
                    goro::source_location where = goro::source_location::current()) {
    return write(s.data(), s.size(), where);
  }
  // Vectored write (Go's net.Buffers): every buffer in order, one sendmsg per 64 buffers (and
  // another whenever the kernel takes less); returns the total.
  std::size_t write(std::span<const std::string_view> bufs,
                    goro::source_location where = goro::source_location::current());
  std::size_t write(std::initializer_list<std::string_view> bufs,
                    goro::source_location where = goro::source_location::current()) {
    return write(std::span<const std::string_view>(bufs.begin(), bufs.size()), where);
  }

  // Idempotent, from any goroutine or thread. Wakes this conn's blocked read and write, which
  // throw error "use of closed network connection", as does every later call. The descriptor is
  // closed once no call is using it any more; every close() returns after that. The goroutine
  // it woke may destroy the conn at once: the destructor waits for a close() still returning.
  void close() noexcept;
  // Half-close (shutdown SHUT_WR): the peer reads end of stream; this side can still read.
  void close_write();

  // The deadlines, as Go's: an absolute time after which the blocked call and every later one
  // throws error with timeout() true, until the deadline is moved. time_point{} clears it; one
  // in the past fails the calls at once. A deadline applies to the call that is blocked when it
  // is set too.
  void set_deadline(time_point t);
  void set_read_deadline(time_point t);
  void set_write_deadline(time_point t);

  std::string local_addr() const;  // "127.0.0.1:40512", "[::1]:8080", or the Unix path
  std::string remote_addr() const;
  int native_handle() const noexcept;  // -1 when not connected
  explicit operator bool() const noexcept { return fd_ != nullptr; }

 private:
  friend class listener;
  friend conn dial(std::string_view, std::string_view);
  friend conn dial_timeout(std::string_view, std::string_view, std::chrono::nanoseconds);
  friend conn dial(const goro::context&, std::string_view, std::string_view);
  explicit conn(detail::netfd* fd) noexcept : fd_(fd) {}
  detail::netfd* fd_ = nullptr;
};

// A bound, listening stream socket. Move-only; the destructor closes.
class listener {
 public:
  listener() noexcept = default;
  listener(listener&& o) noexcept : fd_(std::exchange(o.fd_, nullptr)) {}
  listener& operator=(listener&& o) noexcept;
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;
  ~listener();

  // Waits for the next connection. EMFILE, ENFILE, ENOBUFS and ENOMEM do not end the listener:
  // accept backs off (5 ms doubling to 1 s, as Go's http.Server) and tries again, with a line
  // on stderr the first time. After close() or at the deadline it throws error (during a
  // back-off, within 5 ms of either).
  conn accept(goro::source_location where = goro::source_location::current());
  // Idempotent, from anywhere; wakes a blocked accept. A Unix listener removes the socket file
  // it created.
  void close() noexcept;
  void set_deadline(time_point t);  // for accept; time_point{} clears it
  std::string addr() const;         // the bound address, with the real port for ":0"
  int native_handle() const noexcept;
  explicit operator bool() const noexcept { return fd_ != nullptr; }

 private:
  friend listener listen(std::string_view, std::string_view);
  explicit listener(detail::netfd* fd) noexcept : fd_(fd) {}
  detail::netfd* fd_ = nullptr;
};

// "tcp" (IPv6 and IPv4 on one socket for an unspecified host), "tcp4", "tcp6", "unix".
// Throws error for an unknown network, a malformed address, a port out of range, a name that
// does not resolve, or the bind/listen failure ("listen tcp 127.0.0.1:80: bind: permission
// denied").
listener listen(std::string_view network, std::string_view address);
// Connects to address ("tcp", "tcp4", "tcp6", "unix"), trying each resolved address in order.
conn dial(std::string_view network, std::string_view address);
// dial that gives up after timeout, the name lookup included ("dial tcp ADDR: i/o timeout").
conn dial_timeout(std::string_view network, std::string_view address,
                  std::chrono::nanoseconds timeout);
// dial that gives up when ctx is done (its deadline or its cancel), with ctx.err()'s text as
// the reason: "dial tcp ADDR: context canceled" during the connect, "dial tcp: lookup HOST:
// context canceled" during the name lookup, "dial tcp: context canceled" if ctx was done
// before the call; timeout() is true for a deadline.
conn dial(const goro::context& ctx, std::string_view network, std::string_view address);

// A UDP socket ("udp", "udp4", "udp6"). Move-only; the destructor closes.
class packet_conn {
 public:
  packet_conn() noexcept = default;
  packet_conn(packet_conn&& o) noexcept : fd_(std::exchange(o.fd_, nullptr)) {}
  packet_conn& operator=(packet_conn&& o) noexcept;
  packet_conn(const packet_conn&) = delete;
  packet_conn& operator=(const packet_conn&) = delete;
  ~packet_conn();

  // One datagram: its bytes (truncated to n, as Go's ReadFrom) and its sender's address.
  std::pair<std::size_t, std::string> read_from(
      void* buf, std::size_t n, goro::source_location where = goro::source_location::current());
  // Sends one datagram of n bytes to address (resolved as dial's); returns n.
  std::size_t write_to(const void* buf, std::size_t n, std::string_view address,
                       goro::source_location where = goro::source_location::current());
  void close() noexcept;
  void set_deadline(time_point t);
  void set_read_deadline(time_point t);
  void set_write_deadline(time_point t);
  std::string local_addr() const;
  int native_handle() const noexcept;
  explicit operator bool() const noexcept { return fd_ != nullptr; }

 private:
  friend packet_conn listen_packet(std::string_view, std::string_view);
  explicit packet_conn(detail::netfd* fd) noexcept : fd_(fd) {}
  detail::netfd* fd_ = nullptr;
};
packet_conn listen_packet(std::string_view network, std::string_view address);

// Go's io.ReadFull: reads until n bytes are in buf and returns n; returns fewer only when the
// stream ended first (0 when it had already ended). Errors throw as conn::read's.
std::size_t read_full(conn& c, void* buf, std::size_t n,
                      goro::source_location where = goro::source_location::current());

// A buffered reader over a conn (Go's bufio.Reader for the common uses). It refers to the conn,
// which must outlive it; not for two goroutines at once.
class reader {
 public:
  explicit reader(conn& c, std::size_t size = 4096);
  // As conn::read, from the buffer first.
  std::size_t read(void* buf, std::size_t n,
                   goro::source_location where = goro::source_location::current());
  // The next line without its "\n" (nor a "\r" before it). At end of stream: the last line if
  // it had no "\n", then nullopt. A line longer than max_line throws std::length_error, after
  // dropping that line up to and including its "\n" (reading on until it comes), so the next
  // call returns the line after it.
  std::optional<std::string> read_line(
      std::size_t max_line = std::size_t{64} * 1024,
      goro::source_location where = goro::source_location::current());
  std::size_t buffered() const noexcept { return end_ - begin_; }  // bytes read but not returned

 private:
  conn* c_;
  std::string buf_;
  std::size_t begin_ = 0, end_ = 0;
};

}  // namespace goro::net
#pragma GCC visibility pop

template <>
struct std::is_error_code_enum<goro::net::errc> : std::true_type {};
