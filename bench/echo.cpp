// goro-echo ADDR: the TCP echo server of bench/peers/net (bench/peers/README.md, "net/"), for
// its run.sh's comparison with Go's (`SERVER_goro=build/release/bench/goro-echo SERVERS="go goro"
// bench/peers/net/run.sh`). As Go's netbench server: one goroutine per connection that
// writes back every byte it reads, until the peer closes; prints "listening ADDR" once bound.
// A connection's buffer is 8 KiB on its goroutine's stack (Go's server uses 64 KiB on the heap;
// any size above a message's serves the same: every read returns what has arrived).
#include <cstdio>
#include <goro/goro.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: goro-echo ADDR\n");
    return 2;
  }
  return goro::run([addr = argv[1]] {
    goro::net::listener ln = goro::net::listen("tcp", addr);
    std::printf("listening %s\n", ln.addr().c_str());
    std::fflush(stdout);
    for (;;) {
      goro::go([c = ln.accept()]() mutable {
        char buf[8192];  // on the goroutine's stack: an idle connection touches no heap page
        try {
          while (std::size_t n = c.read(buf, sizeof buf)) c.write(buf, n);
        } catch (const goro::net::error&) {
          // reset by the peer, or its end of stream: the connection is over either way
        }
      });
    }
  });
}
