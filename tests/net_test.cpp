// goro::net, black-box: echo through many connections with every byte checked, deadlines,
// close from another goroutine, refused dials, half-close, resets, UDP and Unix sockets, many
// simultaneous connections (clients in a second process), Go's error texts for bad input, dumps
// and the deadlock detector, plain threads, the buffered reader. Every ordering goes through
// channels, wait groups, the kernel or a state query (wait_until_parked), never a sleep.
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "fd_count.hpp"
#include "test_util.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using goro_test::done_guard;
using goro_test::open_fds;
using goro_test::runtime_test;
using goro_test::scaled;
namespace gnet = goro::net;

using net = runtime_test;

// The soft limit on descriptors raised as far as the hard limit allows; returns it.
rlim_t raise_nofile() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur;
}

std::string what_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const gnet::error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("other exception: ") + e.what();
  }
  return "<no error>";
}

gnet::error error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const gnet::error& e) {
    return e;
  }
  ADD_FAILURE() << "no goro::net::error";
  return gnet::error({}, "none", "", "", "");
}

// Starts f on a goroutine and returns once it is parked in [IO wait]; the channel receives
// what_of(f) when f has returned.
goro::chan<std::string> start_blocked(std::function<void()> f) {
  auto id = goro::make_chan<std::uint64_t>(1);
  auto res = goro::make_chan<std::string>(1);
  goro::go([id, res, f = std::move(f)] {
    id.send(goro::goroutine_id());
    res.send(what_of(f));
  });
  goro_test::wait_until_parked(*id.recv(), "IO wait");
  return res;
}

// A connected pair over loopback TCP: {dialed, accepted}.
std::pair<gnet::conn, gnet::conn> tcp_pair() {
  gnet::listener ln = gnet::listen("tcp", "127.0.0.1:0");
  auto accepted = goro::make_chan<int>(1);
  gnet::conn server;
  goro::wait_group wg;
  wg.add(1);
  goro::go([&] {
    done_guard d(wg);
    server = ln.accept();
  });
  gnet::conn client = gnet::dial("tcp", ln.addr());
  wg.wait();
  return {std::move(client), std::move(server)};
}

// The byte at offset k of connection i's stream.
unsigned char pattern(std::size_t i, std::size_t k) {
  return static_cast<unsigned char>((k * 7 + i * 13) ^ (k >> 9));
}

// An echo server on ln: a goroutine per connection writes back what it reads until the peer's
// end of stream. stop() (or the destructor) closes ln and waits for every goroutine.
class echo_server {
 public:
  echo_server(gnet::listener& ln, std::size_t buf) : ln_(ln) {
    loop_.add(1);
    goro::go([this, buf] {
      done_guard d(loop_);
      for (;;) {
        gnet::conn c;
        try {
          c = ln_.accept();
        } catch (const gnet::error& e) {
          EXPECT_EQ(e.code(), gnet::errc::closed) << e.what();
          return;
        }
        accepted_.fetch_add(1);
        conns_.add(1);
        goro::go([this, buf, c = std::move(c)]() mutable {
          done_guard d2(conns_);
          // The connection moves to a local, closed before d2's done(): a capture would be
          // closed with the closure, after the body, and stop() could see it still open.
          gnet::conn mine = std::move(c);
          std::vector<char> b(buf);
          while (std::size_t n = mine.read(b.data(), b.size())) mine.write(b.data(), n);
        });
      }
    });
  }
  echo_server(const echo_server&) = delete;
  echo_server& operator=(const echo_server&) = delete;
  ~echo_server() { stop(); }
  void stop() {
    if (stopped_) return;
    stopped_ = true;
    ln_.close();
    loop_.wait();
    conns_.wait();
  }
  std::size_t accepted() const { return accepted_.load(); }

 private:
  gnet::listener& ln_;
  goro::wait_group loop_, conns_;
  std::atomic<std::size_t> accepted_{0};
  bool stopped_ = false;
};

// ---- Round trips -----------------------------------------------------------------------------

TEST_F(net, EchoThroughManyConnectionsEveryByteChecked) {
  const std::size_t conns = scaled(1000, 200, 40);
  const std::size_t bytes = scaled(1 << 20, 256 << 10, 128 << 10);
  ASSERT_GT(raise_nofile(), 2 * conns + 64);
  goro::run([&] {
    gnet::listener ln = gnet::listen("tcp", "127.0.0.1:0");
    echo_server server(ln, 32 << 10);
    const std::string addr = ln.addr();
    goro::wait_group clients;
    std::atomic<std::size_t> bad{0}, total{0};
    for (std::size_t i = 0; i < conns; ++i) {
      clients.add(1);
      goro::go([&, i] {
        done_guard d(clients);
        gnet::conn c = gnet::dial("tcp", addr);
        goro::wait_group writer;
        writer.add(1);
        goro::go([&] {
          done_guard d2(writer);
          std::vector<unsigned char> chunk(48 << 10);
          for (std::size_t off = 0; off < bytes; off += chunk.size()) {
            const std::size_t n = std::min(chunk.size(), bytes - off);
            for (std::size_t k = 0; k < n; ++k) chunk[k] = pattern(i, off + k);
            c.write(chunk.data(), n);
          }
          c.close_write();
        });
        std::vector<unsigned char> buf(40 << 10);
        std::size_t got = 0;
        while (std::size_t n = c.read(buf.data(), buf.size())) {
          for (std::size_t k = 0; k < n; ++k)
            if (buf[k] != pattern(i, got + k)) bad.fetch_add(1);
          got += n;
        }
        writer.wait();
        total.fetch_add(got);
        EXPECT_EQ(got, bytes) << "connection " << i;
      });
    }
    clients.wait();
    server.stop();
    EXPECT_EQ(bad.load(), 0u);
    EXPECT_EQ(total.load(), conns * bytes);
  });
}

TEST_F(net, AddressesAndDefaults) {
  goro::run([] {
    auto pair1 = tcp_pair();
    auto& c = pair1.first;
    auto& s = pair1.second;
    EXPECT_EQ(c.remote_addr(), s.local_addr());
    EXPECT_EQ(s.remote_addr(), c.local_addr());
    EXPECT_EQ(c.local_addr().rfind("127.0.0.1:", 0), 0u) << c.local_addr();
    int v = 0;
    socklen_t len = sizeof v;
    ASSERT_EQ(getsockopt(c.native_handle(), IPPROTO_TCP, 1 /*TCP_NODELAY*/, &v, &len), 0);
    EXPECT_EQ(v, 1);
    ASSERT_EQ(getsockopt(s.native_handle(), SOL_SOCKET, SO_KEEPALIVE, &v, &len), 0);
    EXPECT_EQ(v, 1);
    EXPECT_TRUE(static_cast<bool>(c));
    EXPECT_EQ(fcntl(c.native_handle(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

    gnet::listener any = gnet::listen("tcp", ":0");  // dual-stack [::]
    EXPECT_EQ(any.addr().rfind("[::]:", 0), 0u) << any.addr();
    const std::string port = any.addr().substr(any.addr().rfind(':') + 1);
    EXPECT_NE(port, "0");
    // An IPv4 client reaches the dual-stack listener and shows as IPv4, not ::ffff:.
    gnet::conn v4;
    goro::wait_group wg;
    wg.add(1);
    goro::go([&] {
      done_guard d(wg);
      v4 = any.accept();
    });
    gnet::conn cl = gnet::dial("tcp4", "127.0.0.1:" + port);
    wg.wait();
    EXPECT_EQ(v4.remote_addr(), cl.local_addr());
    ASSERT_EQ(getsockopt(any.native_handle(), SOL_SOCKET, SO_REUSEADDR, &v, &len), 0);
    EXPECT_EQ(v, 1);
  });
}

TEST_F(net, VectoredWriteReadFullAndLines) {
  goro::run([] {
    auto pair2 = tcp_pair();
    auto& c = pair2.first;
    auto& s = pair2.second;
    std::string big(100'000, 'x');
    const std::string_view parts[] = {"alpha\r\n", "", "beta\n", big, "\ngamma"};
    const std::size_t total = 7 + 5 + big.size() + 6;
    goro::wait_group wg;
    wg.add(1);
    goro::go([&] {
      done_guard d(wg);
      EXPECT_EQ(c.write(std::span<const std::string_view>(parts)), total);
      EXPECT_EQ(c.write({"\n", "last"}), 5u);
      c.close_write();
    });
    gnet::reader r(s, 64);
    EXPECT_EQ(r.read_line(), std::optional<std::string>("alpha"));
    EXPECT_EQ(r.read_line(), std::optional<std::string>("beta"));
    EXPECT_EQ(r.read_line(200'000), std::optional<std::string>(big));
    char g[5];
    EXPECT_EQ(r.read(g, sizeof g), 5u);
    EXPECT_EQ(std::string(g, 5), "gamma");
    EXPECT_EQ(r.read_line(), std::optional<std::string>(""));
    EXPECT_EQ(r.read_line(), std::optional<std::string>("last"));  // no "\n": still a line
    EXPECT_EQ(r.read_line(), std::nullopt);
    wg.wait();

    auto pair3 = tcp_pair();
    auto& c2 = pair3.first;
    auto& s2 = pair3.second;
    wg.add(1);
    goro::go([&] {
      done_guard d(wg);
      c2.write(std::string(1000, 'y'));
      c2.write(std::string(100, 'z') + "\nnext\n");
      c2.close_write();
    });
    std::string buf(600, '\0');
    EXPECT_EQ(gnet::read_full(s2, buf.data(), buf.size()), 600u);
    EXPECT_EQ(buf, std::string(600, 'y'));
    gnet::reader r2(s2);
    // 400 y's and 100 z's before the "\n": too long; the whole line is dropped.
    EXPECT_THROW(r2.read_line(50), std::length_error);
    std::optional<std::string> line = r2.read_line(1000);
    EXPECT_EQ(line, std::optional<std::string>("next"));
    EXPECT_EQ(r2.read_line(), std::nullopt);
    wg.wait();
  });
}

TEST_F(net, ReadLineDropsATooLongLineWholeWhateverTheBuffer) {
  goro::run([] {
    for (std::size_t size : {16, 4096}) {
      auto p = tcp_pair();
      p.first.write(std::string(25, 'x') + "END\nnext\n");
      p.first.close_write();
      gnet::reader r(p.second, size);
      EXPECT_THROW(r.read_line(20), std::length_error) << size;
      EXPECT_EQ(r.read_line(20), std::optional<std::string>("next")) << size;
      EXPECT_EQ(r.read_line(20), std::nullopt) << size;
    }
  });
}

// ---- Deadlines -------------------------------------------------------------------------------

TEST_F(net, ReadDeadlineGivesTimeoutNotBefore) {
  goro::run([] {
    auto pair4 = tcp_pair();
    auto& c = pair4.first;
    auto& s = pair4.second;
    const auto deadline = std::chrono::steady_clock::now() + 30ms;
    c.set_read_deadline(deadline);
    char b;
    const gnet::error e = error_of([&] { c.read(&b, 1); });
    EXPECT_GE(std::chrono::steady_clock::now(), deadline);
    EXPECT_TRUE(e.timeout());
    EXPECT_EQ(e.code(), gnet::errc::timeout);
    EXPECT_EQ(std::string(e.what()),
              "read tcp " + c.local_addr() + "->" + c.remote_addr() + ": i/o timeout");
    // Still expired: the next read fails at once, even with data there.
    s.write("x");
    EXPECT_TRUE(error_of([&] { c.read(&b, 1); }).timeout());
    // Cleared: the data is read.
    c.set_read_deadline({});
    EXPECT_EQ(c.read(&b, 1), 1u);
    EXPECT_EQ(b, 'x');
    // Writes are unaffected by a read deadline.
    c.set_read_deadline(std::chrono::steady_clock::now() - 1s);
    EXPECT_EQ(c.write("ok"), 2u);
  });
}

TEST_F(net, DeadlineSetWhileBlockedWakesTheReadAndTheWrite) {
  goro::run([] {
    auto pair5 = tcp_pair();  // the peer (second) stays open and never reads
    auto& c = pair5.first;
    auto res = start_blocked([&] {
      char b;
      c.read(&b, 1);
    });
    c.set_deadline(std::chrono::steady_clock::now() - 1ms);
    EXPECT_EQ(*res.recv(), "read tcp " + c.local_addr() + "->" + c.remote_addr() + ": i/o timeout");

    // A writer blocked on a full buffer (the peer does not read).
    c.set_deadline({});
    res = start_blocked([&] {
      std::string chunk(1 << 20, 'w');
      for (;;) c.write(chunk);
    });
    c.set_write_deadline(std::chrono::steady_clock::now() + 1ms);
    EXPECT_EQ(*res.recv(),
              "write tcp " + c.local_addr() + "->" + c.remote_addr() + ": i/o timeout");
  });
}

// ---- Close -----------------------------------------------------------------------------------

TEST_F(net, CloseWakesABlockedReadAndEveryLaterCall) {
  goro::run([] {
    auto pair6 = tcp_pair();
    auto& c = pair6.first;
    auto& s = pair6.second;
    const std::string l = c.local_addr(), r = c.remote_addr();
    auto res = start_blocked([&] {
      char b;
      c.read(&b, 1);
    });
    const int fds = open_fds();
    c.close();
    EXPECT_EQ(*res.recv(), "read tcp " + l + "->" + r + ": use of closed network connection");
    EXPECT_EQ(open_fds(), fds - 1);  // close() returned once the descriptor was closed
    EXPECT_EQ(what_of([&] { c.write("x"); }),
              "write tcp " + l + "->" + r + ": use of closed network connection");
    EXPECT_EQ(error_of([&] { c.set_deadline({}); }).code(), gnet::errc::closed);
    c.close();  // idempotent
    // The peer sees end of stream.
    char b;
    EXPECT_EQ(s.read(&b, 1), 0u);
    gnet::conn none;
    EXPECT_FALSE(static_cast<bool>(none));
    EXPECT_EQ(none.native_handle(), -1);
    EXPECT_EQ(error_of([&] { none.read(&b, 1); }).code(), std::errc::invalid_argument);
  });
}

// The usual way to stop a connection: another goroutine closes it, and the owner, woken with
// the closed error, ends and destroys its conn at once, while that close() may still be on its
// way out (the destructor waits for it; under the sanitizers a free too early is a report).
TEST_F(net, OwnerDestroysItsConnRightAfterAnotherGoroutinesClose) {
  goro::run([] {
    { auto first = tcp_pair(); }  // the poller's own descriptors exist from the first socket on
    const int fds = open_fds();
    for (int i = 0; i < 50; i++) {
      auto pair = tcp_pair();
      gnet::conn* shared = nullptr;
      auto id = goro::make_chan<std::uint64_t>(1);
      auto ended = goro::make_chan<std::string>(1);
      goro::go([&, c = std::move(pair.first)]() mutable {
        shared = &c;
        id.send(goro::goroutine_id());
        std::string what = what_of([&] {
          char b;
          c.read(&b, 1);
        });
        { gnet::conn gone = std::move(c); }  // destroyed before the closer may have returned
        ended.send(std::move(what));
      });
      const std::uint64_t owner = *id.recv();
      goro_test::wait_until_parked(owner, "IO wait");
      goro::wait_group closed;
      closed.add(1);
      goro::go([&, c = shared] {
        c->close();
        closed.done();
      });
      const std::string what = *ended.recv();
      EXPECT_NE(what.find("use of closed network connection"), std::string::npos) << what;
      closed.wait();
    }
    EXPECT_EQ(open_fds(), fds);
  });
}

TEST_F(net, CloseWakesABlockedAccept) {
  goro::run([] {
    gnet::listener ln = gnet::listen("tcp", "127.0.0.1:0");
    const std::string addr = ln.addr();
    auto res = start_blocked([&] { ln.accept(); });
    ln.close();
    EXPECT_EQ(*res.recv(), "accept tcp " + addr + ": use of closed network connection");
    // The port is free again once close() has returned.
    gnet::listener again = gnet::listen("tcp", addr);
    EXPECT_EQ(again.addr(), addr);
  });
}

TEST_F(net, ListenerDeadline) {
  goro::run([] {
    gnet::listener ln = gnet::listen("tcp", "127.0.0.1:0");
    const auto deadline = std::chrono::steady_clock::now() + 20ms;
    ln.set_deadline(deadline);
    const gnet::error e = error_of([&] { ln.accept(); });
    EXPECT_GE(std::chrono::steady_clock::now(), deadline);
    EXPECT_TRUE(e.timeout());
    EXPECT_EQ(std::string(e.what()), "accept tcp " + ln.addr() + ": i/o timeout");
    ln.set_deadline({});
    gnet::conn c = gnet::dial("tcp", ln.addr());
    EXPECT_TRUE(static_cast<bool>(ln.accept()));
  });
}

// ---- Failures --------------------------------------------------------------------------------

TEST_F(net, RefusedDial) {
  goro::run([] {
    std::string addr;
    {
      gnet::listener ln = gnet::listen("tcp", "127.0.0.1:0");
      addr = ln.addr();
    }
    const int fds = open_fds();
    const gnet::error e = error_of([&] { gnet::dial("tcp", addr); });
    EXPECT_EQ(std::string(e.what()), "dial tcp " + addr + ": connect: connection refused");
    EXPECT_EQ(e.code(), std::errc::connection_refused);
    EXPECT_FALSE(e.timeout());
    EXPECT_EQ(e.op(), "dial");
    EXPECT_EQ(e.network(), "tcp");
    EXPECT_EQ(e.addr(), addr);
    // With no host, Go's text shows the port alone.
    const std::string port = addr.substr(addr.rfind(':') + 1);
    EXPECT_EQ(what_of([&] { gnet::dial("tcp", ":" + port); }),
              "dial tcp :" + port + ": connect: connection refused");
    EXPECT_EQ(open_fds(), fds);
  });
}

TEST_F(net, HalfClose) {
  goro::run([] {
    auto pair7 = tcp_pair();
    auto& c = pair7.first;
    auto& s = pair7.second;
    c.write("question");
    c.close_write();
    std::string got(16, '\0');
    EXPECT_EQ(gnet::read_full(s, got.data(), got.size()), 8u);  // then end of stream
    EXPECT_EQ(got.substr(0, 8), "question");
    s.write("answer");  // the other direction still works
    s.close();
    char buf[16];
    EXPECT_EQ(gnet::read_full(c, buf, sizeof buf), 6u);
    EXPECT_EQ(std::string(buf, 6), "answer");
  });
}

TEST_F(net, PeerResetIsAnErrorNotACrash) {
  goro::run([] {
    auto pair8 = tcp_pair();
    auto& c = pair8.first;
    auto& s = pair8.second;
    const linger lg{1, 0};  // close sends RST
    ASSERT_EQ(setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    s.close();
    char b;
    const gnet::error e = error_of([&] { c.read(&b, 1); });
    EXPECT_EQ(e.code(), std::errc::connection_reset) << e.what();
    EXPECT_EQ(std::string(e.what()), "read tcp " + c.local_addr() + "->" + c.remote_addr() +
                                         ": read: connection reset by peer");
    // Writing to a dead connection throws (EPIPE), and SIGPIPE never comes.
    const gnet::error w = error_of([&] {
      for (;;) c.write("x");
    });
    EXPECT_TRUE(w.code() == std::errc::broken_pipe || w.code() == std::errc::connection_reset)
        << w.what();
  });
}

TEST_F(net, BadInputGivesGoTextsAndLeaksNothing) {
  goro::run([] {
    const int fds = open_fds();
    struct row {
      std::function<void()> call;
      const char* text;
    };
    const std::string long_path(200, 'p');
    const row rows[] = {
        {[] { gnet::dial("tcp", "127.0.0.1"); },
         "dial tcp: address 127.0.0.1: missing port in address"},
        {[] { gnet::dial("tcp", "::1:80"); },
         "dial tcp: address ::1:80: too many colons in address"},
        {[] { gnet::dial("tcp", "[::1]"); }, "dial tcp: address [::1]: missing port in address"},
        {[] { gnet::dial("tcp", "[::1:80"); }, "dial tcp: address [::1:80: missing ']' in address"},
        {[] { gnet::dial("tcp", "[::1]]:80"); },
         "dial tcp: address [::1]]:80: missing port in address"},
        {[] { gnet::dial("tcp", "1.2.3.4:70000"); }, "dial tcp: address 70000: invalid port"},
        {[] { gnet::dial("tcp", "1.2.3.4:-1"); }, "dial tcp: address -1: invalid port"},
        {[] { gnet::dial("tcp", "1.2.3.4:nosuchport"); },
         "dial tcp: address tcp/nosuchport: unknown port"},
        {[] { gnet::dial("foo", "x:1"); }, "dial foo: unknown network foo"},
        {[] { gnet::listen("udp", ":0"); }, "listen udp: unknown network udp"},
        {[] { gnet::listen_packet("tcp", ":0"); }, "listen tcp: unknown network tcp"},
        {[] { gnet::dial("tcp4", "[::1]:80"); },
         "dial tcp4: address ::1: no suitable address found"},
        {[] { gnet::dial("tcp6", "127.0.0.1:80"); },
         "dial tcp6: address 127.0.0.1: no suitable address found"},
        {[] { gnet::dial("unix", ""); }, "dial unix: missing address"},
        {[] { gnet::dial("tcp", ""); }, "dial tcp: missing address"},
        {[] {
           gnet::conn none;
           char b;
           none.read(&b, 1);
         },
         "read: invalid argument"},
    };
    for (const row& r : rows) {
      EXPECT_EQ(what_of(r.call), r.text);
    }
    EXPECT_EQ(what_of([&] { gnet::dial("unix", "/" + long_path); }),
              "dial unix /" + long_path + ": connect: invalid argument");
    EXPECT_EQ(error_of([] { gnet::dial("tcp", "1.2.3.4"); }).code(), gnet::errc::bad_address);
    EXPECT_EQ(error_of([] { gnet::dial("x", "1"); }).code(), gnet::errc::unknown_network);
    const std::string lookup = what_of([] { gnet::dial("tcp", "nosuch.invalid:80"); });
    EXPECT_EQ(lookup.rfind("dial tcp: lookup nosuch.invalid: ", 0), 0u) << lookup;
    // A port taken: bind's error.
    gnet::listener ln = gnet::listen("tcp", "127.0.0.1:0");
    EXPECT_EQ(what_of([&] { gnet::listen("tcp", ln.addr()); }),
              "listen tcp " + ln.addr() + ": bind: address already in use");
    // With no host, Go's error shows the port alone (its address has no IP), on every
    // interface's socket as on a datagram one; the listener's own addr() is the bound one.
    gnet::listener any = gnet::listen("tcp", ":0");
    const std::string port = any.addr().substr(any.addr().rfind(':') + 1);
    EXPECT_EQ(what_of([&] { gnet::listen("tcp", ":" + port); }),
              "listen tcp :" + port + ": bind: address already in use");
    gnet::packet_conn pany = gnet::listen_packet("udp", ":0");
    const std::string pport = pany.local_addr().substr(pany.local_addr().rfind(':') + 1);
    EXPECT_EQ(what_of([&] { gnet::listen_packet("udp", ":" + pport); }),
              "listen udp :" + pport + ": bind: address already in use");
    pany.close();
    any.close();
    ln.close();
    EXPECT_EQ(open_fds(), fds);
  });
}

TEST_F(net, DialTimeoutAndContext) {
  goro::run([] {
    gnet::listener ln = gnet::listen("tcp", "127.0.0.1:0");
    {
      gnet::conn c = gnet::dial_timeout("tcp", ln.addr(), 5s);
      EXPECT_TRUE(static_cast<bool>(c));
      gnet::conn a = ln.accept();
    }
    const gnet::error t = error_of([&] { gnet::dial_timeout("tcp", ln.addr(), -1ns); });
    EXPECT_TRUE(t.timeout());
    EXPECT_EQ(std::string(t.what()), "dial tcp " + ln.addr() + ": i/o timeout");

    auto pair9 = goro::with_cancel(goro::background());
    auto& ctx = pair9.first;
    auto& cancel = pair9.second;
    {
      gnet::conn c = gnet::dial(ctx, "tcp", ln.addr());
      EXPECT_TRUE(static_cast<bool>(c));
      gnet::conn a = ln.accept();
    }
    cancel();
    const gnet::error e = error_of([&] { gnet::dial(ctx, "tcp", ln.addr()); });
    EXPECT_EQ(std::string(e.what()), "dial tcp: context canceled");
    EXPECT_FALSE(e.timeout());
    auto pair10 = goro::with_timeout(goro::background(), -1s);
    auto& dctx = pair10.first;
    auto& dcancel = pair10.second;
    const gnet::error d = error_of([&] { gnet::dial(dctx, "tcp", ln.addr()); });
    EXPECT_TRUE(d.timeout()) << d.what();
    dcancel();
  });
}

TEST_F(net, DialTriesEveryResolvedAddress) {
  goro::run([] {
    // Only IPv4 listens; "localhost" may resolve to ::1 first (Debian's order), which refuses.
    gnet::listener ln = gnet::listen("tcp4", "127.0.0.1:0");
    const std::string port = ln.addr().substr(ln.addr().rfind(':') + 1);
    goro::wait_group wg;
    wg.add(1);
    goro::go([&] {
      done_guard d(wg);
      ln.accept();
    });
    gnet::conn c = gnet::dial("tcp", "localhost:" + port);
    EXPECT_EQ(c.remote_addr(), "127.0.0.1:" + port);
    wg.wait();
  });
}

// ---- UDP and Unix ----------------------------------------------------------------------------

TEST_F(net, UdpRoundTrip) {
  goro::run([] {
    gnet::packet_conn a = gnet::listen_packet("udp", "127.0.0.1:0");
    gnet::packet_conn b = gnet::listen_packet("udp4", "127.0.0.1:0");
    EXPECT_EQ(a.write_to("ping", 4, b.local_addr()), 4u);
    char buf[16];
    auto pair11 = b.read_from(buf, sizeof buf);
    auto& n = pair11.first;
    auto& from = pair11.second;
    EXPECT_EQ(std::string(buf, n), "ping");
    EXPECT_EQ(from, a.local_addr());
    b.write_to("pong!", 5, from);
    auto [n2, from2] = a.read_from(buf, 3);  // truncated, as Go's
    EXPECT_EQ(n2, 3u);
    EXPECT_EQ(std::string(buf, 3), "pon");
    EXPECT_EQ(from2, b.local_addr());
    // A dual-stack socket sends to an IPv4 address.
    gnet::packet_conn d = gnet::listen_packet("udp", ":0");
    d.write_to("v4", 2, b.local_addr());
    auto pair12 = b.read_from(buf, sizeof buf);
    auto& n3 = pair12.first;
    auto& from3 = pair12.second;
    EXPECT_EQ(std::string(buf, n3), "v4");
    EXPECT_EQ(from3.rfind("127.0.0.1:", 0), 0u) << from3;
    // Read deadline and close.
    b.set_read_deadline(std::chrono::steady_clock::now() - 1ms);
    EXPECT_EQ(what_of([&] { b.read_from(buf, sizeof buf); }),
              "read udp4 " + b.local_addr() + ": i/o timeout");
    b.close();
    EXPECT_EQ(error_of([&] { b.read_from(buf, sizeof buf); }).code(), gnet::errc::closed);
    // write_to's errors show the destination, as Go's WriteTo: LOCAL->TO.
    a.set_write_deadline(std::chrono::steady_clock::now() - 1ms);
    EXPECT_EQ(what_of([&] { a.write_to("x", 1, "127.0.0.1:9"); }),
              "write udp " + a.local_addr() + "->127.0.0.1:9: i/o timeout");
    const std::string a_addr = a.local_addr();
    a.close();
    EXPECT_EQ(what_of([&] { a.write_to("x", 1, "127.0.0.1:9"); }),
              "write udp " + a_addr + "->127.0.0.1:9: use of closed network connection");
  });
}

TEST_F(net, UnixRoundTripAndTheListenerRemovesItsFile) {
  goro::run([] {
    char dir[] = "/tmp/goro-net-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    const std::string path = std::string(dir) + "/sock";
    for (const std::string& where :
         {path, std::string("@goro-net-test-") + std::to_string(getpid())}) {
      gnet::listener ln = gnet::listen("unix", where);
      EXPECT_EQ(ln.addr(), where);
      goro::wait_group wg;
      wg.add(1);
      goro::go([&] {
        done_guard d(wg);
        gnet::conn s = ln.accept();
        EXPECT_EQ(s.local_addr(), where);
        char buf[8];
        const std::size_t n = s.read(buf, sizeof buf);
        s.write(buf, n);
      });
      gnet::conn c = gnet::dial("unix", where);
      EXPECT_EQ(c.remote_addr(), where);
      c.write("unix");
      char buf[8];
      EXPECT_EQ(gnet::read_full(c, buf, 4), 4u);
      EXPECT_EQ(std::string(buf, 4), "unix");
      wg.wait();
      if (where[0] == '/') {
        EXPECT_EQ(access(where.c_str(), F_OK), 0);
        EXPECT_EQ(what_of([&] { gnet::listen("unix", where); }),
                  "listen unix " + where + ": bind: address already in use");
        ln.close();
        EXPECT_NE(access(where.c_str(), F_OK), 0);  // removed
      }
    }
    rmdir(dir);
  });
}

// ---- Scale: many simultaneous connections ----------------------------------------------------

// The clients are a second process (net_clients_prog): one process with both ends would need
// 20,000 descriptors for 10,000 connections, and these machines cap a process at 20,000.
TEST_F(net, TenThousandSimultaneousConnections) {
  const std::size_t limit = raise_nofile();
  std::size_t n = scaled(10000, 3000, 1500);
  if (n + 200 > limit) n = limit - 200;
  goro::run([&] {
    const int fds_before = open_fds();
    gnet::listener ln = gnet::listen("tcp", "127.0.0.1:0");
    echo_server server(ln, 64);
    int to_child[2], from_child[2];
    ASSERT_EQ(pipe2(to_child, O_CLOEXEC), 0);
    ASSERT_EQ(pipe2(from_child, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
    const std::string count = std::to_string(n);
    const std::string addr = ln.addr();
    char* argv[] = {const_cast<char*>(GORO_NET_CLIENTS_PROG), const_cast<char*>(addr.c_str()),
                    const_cast<char*>(count.c_str()), nullptr};
    pid_t pid = -1;
    ASSERT_EQ(posix_spawn(&pid, GORO_NET_CLIENTS_PROG, &fa, nullptr, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(to_child[0]);
    close(from_child[1]);
    // "ready N FDS" once every connection has made its round trip.
    std::string line;
    goro::blocking([&] {
      char ch;
      while (read(from_child[0], &ch, 1) == 1 && ch != '\n') line += ch;
    });
    EXPECT_EQ(line.rfind("ready " + count + " ", 0), 0u) << line;
    EXPECT_EQ(server.accepted(), n);
    EXPECT_GE(goro::num_goroutine(), n + 2);  // a server goroutine per connection, all parked
    EXPECT_GE(open_fds(), fds_before + static_cast<int>(n));
    close(to_child[1]);  // the clients close everything
    int status = 0;
    goro::blocking([&] { waitpid(pid, &status, 0); });
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    close(from_child[0]);
    server.stop();
    EXPECT_EQ(open_fds(), fds_before);  // no descriptor leaked
  });
}

// Accept keeps going when the process runs out of descriptors: it backs off, and takes the
// connection once one is free.
TEST_F(net, AcceptBacksOffOnEMFILE) {
  // UBSan's vptr check probes memory through a pipe it makes on the spot: with no descriptor
  // left it reports every virtual call as on an invalid object.
  if (goro_test::asan) GTEST_SKIP() << "UBSan needs descriptors of its own";
  goro::run([] {
    gnet::listener ln = gnet::listen("tcp", "127.0.0.1:0");
    gnet::conn c = gnet::dial("tcp", ln.addr());  // waits in the backlog
    gnet::listener ln2 = gnet::listen("tcp", "127.0.0.1:0");
    gnet::conn c2 = gnet::dial("tcp", ln2.addr());
    rlimit old{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
    // Every descriptor number below the limit is taken: fill the holes with placeholders.
    std::vector<int> fillers;
    rlimit tight = old;
    tight.rlim_cur = static_cast<rlim_t>(open_fds()) + 16;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
    for (;;) {
      const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      fillers.push_back(fd);
    }
    auto id = goro::make_chan<std::uint64_t>(1);
    auto got = goro::make_chan<bool>(1);
    goro::go([&] {
      id.send(goro::goroutine_id());
      got.send(static_cast<bool>(ln.accept()));
    });
    goro_test::wait_until_parked(*id.recv(), "sleep");  // backing off, not ended
    // close() ends a back-off too (within a step of it), with the closed error.
    auto err = goro::make_chan<std::string>(1);
    goro::go([&] {
      id.send(goro::goroutine_id());
      err.send(what_of([&] { ln2.accept(); }));
    });
    goro_test::wait_until_parked(*id.recv(), "sleep");
    const std::string ln2_addr = ln2.addr();
    ln2.close();
    EXPECT_EQ(err.recv(), "accept tcp " + ln2_addr + ": use of closed network connection");
    for (int fd : fillers) close(fd);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
    EXPECT_EQ(got.recv(), std::optional<bool>(true));
  });
}

// ---- Diagnostics -----------------------------------------------------------------------------

TEST_F(net, DumpShowsIOWaitAtTheReadSite) {
  goro::run([] {
    auto pair13 = tcp_pair();
    auto& c = pair13.first;
    auto& s = pair13.second;
    auto id = goro::make_chan<std::uint64_t>(1);
    auto done = goro::make_chan<std::size_t>(1);
    goro::go([&] {
      id.send(goro::goroutine_id());
      char b;
      done.send(c.read(&b, 1));  // @read-site
    });
    const std::uint64_t g = *id.recv();
    goro_test::wait_until_parked(g, "IO wait");
    const std::string text = goro_test::dump_now();
    const auto at = text.find("goroutine " + std::to_string(g) + " [IO wait]:");
    ASSERT_NE(at, std::string::npos) << text;
    const std::string block = text.substr(at, text.find("\n\n", at) - at);
    EXPECT_NE(block.find("net_test.cpp:"), std::string::npos) << block;
    s.write("x");
    EXPECT_EQ(done.recv(), std::optional<std::size_t>(1));
  });
}

// Every goroutine waits on a socket, and the only other party is a plain thread that writes
// once it sees them all parked: the detector must stay quiet (a report would end this binary
// with exit status 2).
TEST_F(net, AllWaitingOnSocketsIsNotADeadlock) {
  goro::run([] {
    auto pair14 = tcp_pair();
    auto& c = pair14.first;
    auto& s = pair14.second;
    gnet::listener ln = gnet::listen("tcp", "127.0.0.1:0");
    auto ids = goro::make_chan<std::uint64_t>(2);
    std::thread peer([&] {
      const std::uint64_t a = *ids.recv(), b = *ids.recv();
      goro_test::wait_until_parked(a, "IO wait");
      goro_test::wait_until_parked(b, "IO wait");
      gnet::conn x = gnet::dial("tcp", ln.addr());  // a plain thread dials, then writes
      s.write("wake");
    });
    goro::wait_group wg;
    wg.add(1);
    goro::go([&] {
      done_guard d(wg);
      ids.send(goro::goroutine_id());
      EXPECT_TRUE(static_cast<bool>(ln.accept()));
    });
    ids.send(goro::goroutine_id());
    char buf[4];
    EXPECT_EQ(gnet::read_full(c, buf, 4), 4u);  // main waits on the socket too
    wg.wait();
    peer.join();
  });
}

// ---- Plain threads and concurrent use --------------------------------------------------------

TEST_F(net, PlainThreadsBlockAndWork) {
  gnet::listener ln = gnet::listen("tcp", "127.0.0.1:0");
  std::thread server([&] {
    gnet::conn s = ln.accept();
    char buf[64];
    while (std::size_t n = s.read(buf, sizeof buf)) s.write(buf, n);
  });
  {
    gnet::conn c = gnet::dial("tcp", ln.addr());
    c.write("plain");
    char buf[5];
    EXPECT_EQ(gnet::read_full(c, buf, 5), 5u);
    EXPECT_EQ(std::string(buf, 5), "plain");
    c.set_read_deadline(std::chrono::steady_clock::now() + 5ms);
    EXPECT_TRUE(error_of([&] { c.read(buf, 1); }).timeout());
  }
  server.join();
}

TEST_F(net, OneReaderAndOneWriterAtOnceAndASecondReaderWaits) {
  goro::run([] {
    auto pair15 = tcp_pair();
    auto& c = pair15.first;
    auto& s = pair15.second;
    auto id = goro::make_chan<std::uint64_t>(2);
    auto got = goro::make_chan<char>(2);
    for (int i = 0; i < 2; ++i) {
      goro::go([&] {
        id.send(goro::goroutine_id());
        char b = 0;
        c.read(&b, 1);
        got.send(b);
      });
    }
    const std::uint64_t a = *id.recv(), b = *id.recv();
    // One reads, the other waits for its turn on the read lock.
    while (!((goro::debug::goroutine_status(a) == "IO wait" &&
              goro::debug::goroutine_status(b) == "sync.Mutex.Lock") ||
             (goro::debug::goroutine_status(b) == "IO wait" &&
              goro::debug::goroutine_status(a) == "sync.Mutex.Lock")))
      goro::yield();
    // Meanwhile a write on the same conn goes through.
    EXPECT_EQ(c.write("w"), 1u);
    char w;
    EXPECT_EQ(s.read(&w, 1), 1u);
    s.write("1");
    const char first = *got.recv();
    s.write("2");
    const char second = *got.recv();
    EXPECT_EQ(std::string({first, second}), "12");
  });
}

}  // namespace
