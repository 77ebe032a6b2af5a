// net_clients_prog ADDR N: the client half of net_test's many-connections test, in a process
// of its own (both halves in one process would need two descriptors per connection, more than
// the 20,000 these machines allow). Dials N TCP connections to ADDR from N goroutines, sends
// one byte on each and reads it back, prints "ready N FDS\n" (FDS: its open descriptors) once
// every connection has made its round trip, then waits for end of file on stdin, closes them
// all and exits 0; any failure prints it and exits 1.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <goro/goro.hpp>
#include <string>
#include <vector>

#include "fd_count.hpp"

using goro_test::open_fds;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: net_clients_prog ADDR N\n");
    return 2;
  }
  const std::string addr = argv[1];
  const int n = std::atoi(argv[2]);
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  int rc = 0;
  goro::run([&] {
    std::vector<goro::net::conn> conns(static_cast<std::size_t>(n));
    goro::wait_group wg;
    std::atomic<int> failed{0};
    for (int i = 0; i < n; ++i) {
      wg.add(1);
      goro::go([&, i] {
        try {
          goro::net::conn c = goro::net::dial("tcp", addr);
          const char out = static_cast<char>(i);
          c.write(&out, 1);
          char in = 0;
          if (c.read(&in, 1) != 1 || in != out) {
            std::fprintf(stderr, "conn %d: bad echo\n", i);
            failed.fetch_add(1);
          }
          conns[static_cast<std::size_t>(i)] = std::move(c);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "conn %d: %s\n", i, e.what());
          failed.fetch_add(1);
        }
        wg.done();
      });
    }
    wg.wait();
    if (failed.load() != 0) {
      rc = 1;
      return;
    }
    std::printf("ready %d %d\n", n, open_fds());
    std::fflush(stdout);
    char c;
    goro::blocking([&] {
      while (read(0, &c, 1) > 0) {
      }
    });
    for (auto& x : conns) x.close();
  });
  return rc;
}
