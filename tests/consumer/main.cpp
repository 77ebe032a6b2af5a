// Smallest useful goro program: a goroutine sends on a channel, main receives and prints it.
// Built against an installed goro by check.sh, via find_package and via pkg-config, and with
// another compiler than the library's where one is installed: it calls the library's entry
// points that take a goro::source_location (go, a blocking receive, wait, sleep_for), so a
// signature that depended on the compiler would not link.
#include <chrono>
#include <cstdio>
#include <goro/goro.hpp>
#include <optional>

int main() {
  return goro::run([] {
    auto ch = goro::make_chan<int>();
    goro::wait_group wg;
    wg.add(1);
    goro::go([ch, &wg]() mutable {
      goro::sleep_for(std::chrono::microseconds(10));
      ch.send(42);
      wg.done();
    });
    std::optional<int> v = ch.recv();
    wg.wait();
    if (!v) return 1;
    std::printf("received %d\n", *v);
    return 0;
  });
}
