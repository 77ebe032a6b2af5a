// Smallest useful goro program: a goroutine sends on a channel, main receives and prints it.
// Built against an installed goro by check.sh, via find_package and via pkg-config.
#include <cstdio>
#include <goro/goro.hpp>
#include <optional>

int main() {
  return goro::run([] {
    auto ch = goro::make_chan<int>();
    goro::go([ch]() mutable { ch.send(42); });
    std::optional<int> v = ch.recv();
    if (!v) return 1;
    std::printf("received %d\n", *v);
    return 0;
  });
}
