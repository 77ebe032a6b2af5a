// Go's concurrent prime sieve: a generator goroutine feeds 2, 3, 4, ... into a chain of filter
// goroutines, one per prime found so far; whatever reaches the end of the chain is the next
// prime. Prints the first ten primes.
//
// Go's classic version simply returns from main and leaves the generator and the filters
// blocked. This one shuts the chain down instead: closing `done` stops the generator, which
// closes its channel; each filter's range-for then ends and the filter closes its own output,
// so the close travels down the chain to main.
#include <goro/goro.hpp>

#include "common/print.hpp"

// Sends 2, 3, 4, ... to `out` until `done` is closed, then closes `out`.
void generate(goro::send_chan<int> out, goro::recv_chan<goro::signal> done) {
  for (int i = 2;; ++i) {
    if (goro::select(goro::on_send(out, i), goro::on_recv(done, [] {})) == 1) {
      break;
    }
  }
  out.close();
}

// Copies the values from `in` to `out`, dropping the multiples of `prime`; closes `out` once
// `in` is closed.
void filter(goro::recv_chan<int> in, goro::send_chan<int> out, int prime) {
  for (int i : in) {
    if (i % prime != 0) {
      out.send(i);
    }
  }
  out.close();
}

int main() {
  return goro::run([] {
    auto done = goro::make_chan<goro::signal>();
    auto ch = goro::make_chan<int>();
    goro::go(generate, ch, done);
    for (int n = 0; n < 10; ++n) {
      const int prime = ch.recv().value();
      examples::println(prime);
      auto next = goro::make_chan<int>();
      goro::go(filter, ch, next, prime);
      ch = next;
    }

    done.close();
    // Numbers already past the generator still flow down the chain: drain them until the last
    // filter closes its output, the last thing every stage does.
    for ([[maybe_unused]] int in_flight : ch) {
    }
    examples::println("sieve shut down");
  });
}
