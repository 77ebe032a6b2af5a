// Seed program 2: five sender/receiver pairs on one unbuffered channel. Any receiver may take
// any sender's value; every value is 42, so the output is the same whatever the pairing.
#include <goro/goro.hpp>

#include "common/print.hpp"

goro::wait_group wg;

int main() {
  return goro::run([] {
    auto ch = goro::make_chan<int>();
    for (int x = 0; x < 5; ++x) {
      wg.add(2);

      // receives from the channel
      goro::go([ch] {
        int i = ch.recv().value();
        examples::println(i);
        wg.done();
      });
      // sends to the channel
      goro::go([ch] {
        ch.send(42);
        wg.done();
      });
    }

    wg.wait();
  });
}
