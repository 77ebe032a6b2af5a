// A small HTTP/1.1 server, in the shape of Go's net/http server loop: one goroutine per
// connection reads a request head (the request line and headers, through a buffered reader's
// read_line, as Go's textproto.Reader), answers, and reads the next request on the same
// connection (keep-alive) until the client asks to close, speaks HTTP/1.0, sends something
// malformed, or stays idle past the read deadline (30 s; the self-test does not wait it out).
//
//   GET /            200 "hello from goro\n"
//   GET /goroutines  200 goro::num_goroutine() (Go: runtime.NumGoroutine())
//   anything else    404 (405 for a method other than GET)
//   a line longer than 8 KiB  431, then close; a malformed request line or header  400, then close
//
// What it leaves out: request bodies other than Content-Length ones (which it skips), chunked
// transfer coding (501), HEAD, Date headers, TLS.
//
//   http_server                self-test: requests on 127.0.0.1, printing status lines and bodies
//   http_server --serve ADDR   serves forever, e.g. `http_server --serve 127.0.0.1:8080`, then
//                              `curl -v http://127.0.0.1:8080/goroutines`, or a load test with
//                              wrk (64 keep-alive connections for 10 s):
//                                apt-get install wrk; wrk -t1 -c64 -d10s http://127.0.0.1:8080/
#include <strings.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <goro/goro.hpp>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "common/print.hpp"
#include "common/serve_main.hpp"

namespace net = goro::net;
using namespace std::chrono_literals;

constexpr std::size_t kMaxLine = 8192;  // longer request lines and headers get a 431
constexpr auto kIdleTimeout = 30s;      // the longest wait for the next request's head

struct request {
  std::string method, target, version;
  bool close = false;  // answer, then close the connection
  int error = 0;       // non-zero: answer with this status and close
};

// Reads one request head. nullopt when the client closed (or stayed idle) between requests.
std::optional<request> read_request(net::conn& c, net::reader& in) {
  request r;
  try {
    c.set_read_deadline(std::chrono::steady_clock::now() + kIdleTimeout);
    std::optional<std::string> line = in.read_line(kMaxLine);
    while (line && line->empty()) line = in.read_line(kMaxLine);  // RFC 9112: skip blank lines
    if (!line) return std::nullopt;
    // METHOD SP TARGET SP HTTP/x.y
    const std::size_t sp1 = line->find(' '), sp2 = line->find(' ', sp1 + 1);
    if (sp1 == 0 || sp2 == std::string::npos || sp2 == sp1 + 1 ||
        line->find(' ', sp2 + 1) != std::string::npos) {
      r.error = 400;
    } else {
      r.method = line->substr(0, sp1);
      r.target = line->substr(sp1 + 1, sp2 - sp1 - 1);
      r.version = line->substr(sp2 + 1);
      if (r.version == "HTTP/1.0")
        r.close = true;  // no keep-alive for HTTP/1.0 clients
      else if (r.version != "HTTP/1.1")
        r.error = 400;
    }
    std::size_t body = 0;
    for (;;) {  // the headers, up to the empty line
      line = in.read_line(kMaxLine);
      if (!line) return std::nullopt;  // the client went away mid-head
      if (line->empty()) break;
      const std::size_t colon = line->find(':');
      if (colon == std::string::npos || colon == 0) r.error = 400;
      const std::string_view name = std::string_view(*line).substr(0, colon);
      std::string_view value = std::string_view(*line).substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      auto is = [&](std::string_view a, std::string_view b) {
        return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
      };
      if (is(name, "Connection") && is(value, "close")) r.close = true;
      if (is(name, "Content-Length")) body = std::stoul(std::string(value));
      if (is(name, "Transfer-Encoding")) r.error = 501;
    }
    for (char skip[4096]; body > 0;) {  // a body nobody asked for: skip it
      const std::size_t n = in.read(skip, std::min(body, sizeof skip));
      if (n == 0) return std::nullopt;
      body -= n;
    }
  } catch (const std::length_error&) {  // from read_line
    r.error = 431;
  } catch (const std::logic_error&) {  // std::stoul: a Content-Length that is not a number
    r.error = 400;
  }
  return r;
}

const char* status_text(int status) {
  static constexpr std::pair<int, const char*> texts[] = {{200, "OK"},
                                                          {400, "Bad Request"},
                                                          {404, "Not Found"},
                                                          {405, "Method Not Allowed"},
                                                          {431, "Request Header Fields Too Large"},
                                                          {501, "Not Implemented"}};
  for (const auto& [code, text] : texts)
    if (code == status) return text;
  return "Unknown";
}

// Status and body for r.
std::pair<int, std::string> route(const request& r) {
  if (r.error != 0) return {r.error, std::string(status_text(r.error)) + "\n"};
  if (r.method != "GET") return {405, "method not allowed\n"};
  if (r.target == "/") return {200, "hello from goro\n"};
  if (r.target == "/goroutines") return {200, std::to_string(goro::num_goroutine()) + "\n"};
  return {404, "404 page not found\n"};
}

// Hangs up as Go's server does (closeWriteAndWait): FIN first, then a short wait for the client
// to close too, discarding what it still sends. Closing with unread input makes the kernel send
// a reset, which can destroy the response before the client has read it.
void hang_up(net::conn& c, net::reader& in) {
  try {
    c.close_write();
    c.set_read_deadline(std::chrono::steady_clock::now() + 500ms);
    char buf[4096];
    while (in.read(buf, sizeof buf) > 0) {
    }
  } catch (const net::error&) {  // the deadline, or a reset: closed either way
  }
}

// One connection: requests until one of them (or the client, or the idle timeout) ends it.
void serve_conn(net::conn c) {
  net::reader in(c);
  try {
    while (std::optional<request> r = read_request(c, in)) {
      const bool close = r->close || r->error != 0;
      const auto [status, body] = route(*r);
      const std::string head = "HTTP/1.1 " + std::to_string(status) + " " + status_text(status) +
                               "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n" +
                               (close ? "Connection: close\r\n\r\n" : "\r\n");
      c.write({head, body});  // head and body in one system call
      if (close) return hang_up(c, in);
    }
  } catch (const net::error&) {  // the idle deadline, a reset, a failed write: drop it
  }
}

// Accepts until ln is closed; returns once every connection's goroutine has.
void serve(net::listener& ln) {
  goro::wait_group conns;
  for (;;) {
    net::conn c;
    try {
      c = ln.accept();
    } catch (const net::error& e) {
      if (e.code() != net::errc::closed) throw;
      break;
    }
    conns.add(1);
    goro::go([c = std::move(c), &conns]() mutable {
      serve_conn(std::move(c));
      conns.done();
    });
  }
  conns.wait();
}

// ---- the self-test ---------------------------------------------------------------------------

// Reads one response from `in`; returns its status line and body as one line of output.
std::string read_response(net::reader& in) {
  const std::string status = in.read_line().value_or("<end of stream>");
  std::size_t length = 0;
  while (std::optional<std::string> h = in.read_line()) {
    if (h->empty()) break;
    if (h->starts_with("Content-Length: ")) length = std::stoul(h->substr(16));
  }
  std::string body(length, '\0');
  for (std::size_t got = 0; got < length;) {
    const std::size_t n = in.read(body.data() + got, length - got);
    if (n == 0) break;
    got += n;
  }
  if (body.ends_with('\n')) body.pop_back();
  return status + " | " + body;
}

// One connection: for each round, sends its requests in one write and prints the responses it
// expects; then checks that the server has closed the connection (a read returns 0).
void exchange(const std::string& addr, const std::string& title,
              std::initializer_list<std::pair<std::string, int>> rounds) {
  examples::println(title);
  net::conn c = net::dial("tcp", addr);
  net::reader in(c);
  for (const auto& [requests, responses] : rounds) {
    c.write(requests);
    for (int i = 0; i < responses; ++i) examples::write_line("  " + read_response(in));
  }
  char byte;
  examples::write_line(in.read(&byte, 1) == 0 ? "  server closed the connection"
                                              : "  unexpected data after the responses");
}

int self_test() {
  net::listener ln = net::listen("tcp", "127.0.0.1:0");
  auto server_done = goro::make_chan<goro::signal>();
  goro::go([&ln, server_done] {
    serve(ln);
    server_done.close();
  });
  const std::string addr = ln.addr();
  const std::string get = "GET / HTTP/1.1\r\nHost: example\r\n";

  // While /goroutines is served, three goroutines exist: main, serve() and the connection's.
  exchange(addr, "keep-alive: two pipelined requests, then one with Connection: close",
           {{get + "\r\nGET /goroutines HTTP/1.1\r\nHost: example\r\n\r\n", 2},
            {"GET /nowhere HTTP/1.1\r\nHost: example\r\nConnection: close\r\n\r\n", 1}});
  exchange(addr, "HTTP/1.0", {{"GET / HTTP/1.0\r\n\r\n", 1}});
  exchange(addr, "a POST with a body (skipped), then two GETs",
           {{"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello" + get + "\r\n", 2},
            {get + "Connection: close\r\n\r\n", 1}});
  exchange(addr, "a header line over 8 KiB",
           {{get + "X-Big: " + std::string(9000, 'x') + "\r\n\r\n", 1}});
  exchange(addr, "a malformed request line", {{"GET/ HTTP/1.1\r\n\r\n", 1}});

  ln.close();
  server_done.recv();
  examples::println("server stopped");
  return 0;
}

int main(int argc, char** argv) {
  return examples::serve_main(argc, argv, "http_server", self_test, [](net::listener& ln) {
    examples::println("http_server: serving on http://" + ln.addr() + "/");
    serve(ln);
  });
}
