// Seed program 1: one goroutine sends 42 on an unbuffered channel, another receives and prints
// it. The wait group keeps main (goroutine 1) alive until both have finished.
#include <goro/goro.hpp>

#include "common/print.hpp"

goro::wait_group wg;  // Go: var wg = sync.WaitGroup{}

int main() {
  return goro::run([] {
    auto ch = goro::make_chan<int>();  // Go: ch := make(chan int)

    wg.add(2);
    goro::go([ch] {
      int i = ch.recv().value();  // Go: i := <-ch  (blocks until the sender is there)
      examples::println(i);
      wg.done();
    });
    goro::go([ch] {
      ch.send(42);  // Go: ch <- 42  (blocks until the receiver takes it)
      wg.done();
    });

    wg.wait();
  });
}
