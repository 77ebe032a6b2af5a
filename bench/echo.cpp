// goro-echo ADDR: the TCP echo server of ../shared/peers/net (SPEC.md, "Network"), for
// net/run.sh's comparison with Go's (`SERVER_goro=build/release/bench/goro-echo SERVERS="go goro"
// ../shared/peers/net/run.sh`). As Go's netbench server: one goroutine per connection that
// writes back every byte it reads, until the peer closes; prints "listening ADDR" once bound.
// A connection's buffer is 16 KiB on the heap (Go's server uses 64 KiB; any size above a
// message's serves the same: every read returns what has arrived).
#include <cstdio>
#include <goro/goro.hpp>
#include <memory>

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
        constexpr std::size_t kBuf = 16 << 10;
        auto buf = std::make_unique<char[]>(kBuf);
        try {
          while (std::size_t n = c.read(buf.get(), kBuf)) c.write(buf.get(), n);
        } catch (const goro::net::error&) {
          // reset by the peer, or its end of stream: the connection is over either way
        }
      });
    }
  });
}
