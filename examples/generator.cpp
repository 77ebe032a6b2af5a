// A generator: a function that starts a goroutine and returns the receive side of the channel
// it fills. This one yields Fibonacci numbers until its consumer closes `quit`; its select
// waits for whichever comes first, the consumer taking the next number or the quit signal.
#include <cstdint>
#include <goro/goro.hpp>
#include <utility>

#include "common/print.hpp"

// Yields 0, 1, 1, 2, 3, 5, ... until `quit` is closed; then closes the returned channel.
goro::recv_chan<std::uint64_t> fibonacci(goro::recv_chan<goro::signal> quit) {
  auto out = goro::make_chan<std::uint64_t>();
  goro::go([out, quit] {
    std::uint64_t x = 0, y = 1;
    while (goro::select(goro::on_send(out, x), goro::on_recv(quit, [] {})) == 0) {
      x = std::exchange(y, x + y);
    }
    out.close();
  });
  return out;
}

int main() {
  return goro::run([] {
    auto quit = goro::make_chan<goro::signal>();
    goro::recv_chan<std::uint64_t> numbers = fibonacci(quit);
    for (int i = 0; i < 10; ++i) {
      examples::println(numbers.recv().value());
    }
    quit.close();

    // The generator may still hand over a value or two while it notices `quit` (select picks
    // at random among ready cases); it closes `numbers` when it returns, which ends this loop.
    for ([[maybe_unused]] std::uint64_t extra : numbers) {
    }
    examples::println("generator stopped");
  });
}
