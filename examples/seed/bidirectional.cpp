// Seed program 4: both goroutines send and receive on the same channel. The first receives 44,
// prints it and answers 20; the second sends 44, then prints what comes back. Each print
// follows a receive that the other side's send completes, so the order is always 44 then 20.
#include <goro/goro.hpp>

#include "common/print.hpp"

goro::wait_group wg;

int main() {
  return goro::run([] {
    auto ch = goro::make_chan<int>();
    wg.add(2);

    // receives 44 and prints it, then sends 20 back
    goro::go([ch] {
      int i = ch.recv().value();
      examples::println(i);
      ch.send(20);
      wg.done();
    });
    // sends 44, then prints the answer
    goro::go([ch] {
      ch.send(44);
      examples::println(ch.recv().value());  // Go: fmt.Println(<-ch)
      wg.done();
    });

    wg.wait();
  });
}
