// A TCP echo server and its clients in one program. The server is Go's classic
//
//   ln, _ := net.Listen("tcp", addr)
//   for {
//       c, err := ln.Accept()
//       if err != nil { return }  // ln.Close() was called
//       go func() { io.Copy(c, c); c.Close() }()
//   }
//
// with one goroutine per connection, and each client dials it, sends a few lines and reads each
// one back through a bufio.Reader (goro::net::reader::read_line). Once every client is done, main
// closes the listener: that wakes the accept blocked in the server, which throws goro::net::error
// with code errc::closed ("use of closed network connection"), and the server returns once the
// goroutines of its connections have.
//
//   echo                self-test: the server on 127.0.0.1 (a free port) and three clients
//   echo --serve ADDR   the server alone, forever: `echo --serve 127.0.0.1:7007`, then
//                       `nc 127.0.0.1 7007` in another terminal and type lines (Ctrl-C stops it)
#include <array>
#include <cstdio>
#include <goro/goro.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/print.hpp"
#include "common/serve_main.hpp"

namespace net = goro::net;

// One connection: sends back everything it reads until the client closes its side
// (Go: io.Copy(c, c)). The destructor of c closes the connection.
void echo(net::conn c) {
  char buf[4096];
  try {
    while (std::size_t n = c.read(buf, sizeof buf)) c.write(buf, n);
  } catch (const net::error&) {
    // A reset, or a write to a client that went away: this connection is over.
  }
}

// Accepts until ln is closed, one goroutine per connection; returns once they all have.
void serve(net::listener& ln) {
  goro::wait_group conns;
  for (;;) {
    net::conn c;
    try {
      c = ln.accept();
    } catch (const net::error& e) {
      if (e.code() != net::errc::closed) throw;
      break;  // ln.close(): shutting down
    }
    conns.add(1);
    goro::go([c = std::move(c), &conns]() mutable {
      echo(std::move(c));
      conns.done();
    });
  }
  conns.wait();
}

struct reply {
  std::string sent, got;
};

// A client: sends each line, reads its echo back, then says it is done (half-close) and checks
// that the server closed its side too.
std::vector<reply> client(const std::string& addr, const std::vector<std::string>& lines) {
  net::conn c = net::dial("tcp", addr);
  net::reader in(c);
  std::vector<reply> replies;
  for (const std::string& line : lines) {
    c.write({line, "\n"});  // one vectored write: the line and its newline
    replies.push_back({line, in.read_line().value_or("<end of stream>")});
  }
  c.close_write();                                        // the server's read returns 0 ...
  if (std::optional<std::string> extra = in.read_line())  // ... and ours then too
    replies.push_back({"", "unexpected: " + *extra});
  return replies;
}

int self_test() {
  net::listener ln = net::listen("tcp", "127.0.0.1:0");  // port 0: the kernel picks a free one
  const std::string addr = ln.addr();
  auto server_done = goro::make_chan<goro::signal>();
  goro::go([&ln, server_done] {
    serve(ln);
    server_done.close();
  });

  const std::array<std::vector<std::string>, 3> scripts = {{
      {"hello", "echo?"},
      {"one goroutine", "per connection"},
      {"bye"},
  }};
  struct result {
    std::size_t client;
    std::vector<reply> replies;
  };
  auto results = goro::make_chan<result>(scripts.size());
  for (std::size_t i = 0; i < scripts.size(); ++i) {
    goro::go([&addr, &scripts, i, results] { results.send({i, client(addr, scripts[i])}); });
  }
  // The clients finish in any order; each one's replies are printed in client order.
  std::array<std::vector<reply>, scripts.size()> replies;
  for (std::size_t k = 0; k < scripts.size(); ++k) {
    result r = *results.recv();
    replies[r.client] = std::move(r.replies);
  }
  for (std::size_t i = 0; i < replies.size(); ++i) {
    for (const reply& r : replies[i]) {
      examples::println("client", i + 1, "sent", "\"" + r.sent + "\"", "got", "\"" + r.got + "\"");
    }
  }

  ln.close();          // wakes the accept in serve() ...
  server_done.recv();  // ... which returns once every connection's goroutine has
  examples::println("server stopped");
  return 0;
}

int main(int argc, char** argv) {
  return examples::serve_main(argc, argv, "echo", self_test, [](net::listener& ln) {
    examples::println("echo: serving on", ln.addr());
    serve(ln);
  });
}
