// Seed program 3: one receiver, five senders, on an unbuffered channel. The receiver takes one
// value and exits; the four other senders block in send forever, and main blocks in wg.wait()
// forever (the counter never reaches zero). Nothing can make progress, so the runtime's
// deadlock detector ends the program exactly as Go's does: "fatal error: all goroutines are
// asleep - deadlock!", a dump of every goroutine (main first, [semacquire]), exit status 2.
#include <goro/goro.hpp>

#include "common/print.hpp"

goro::wait_group wg;

int main() {
  return goro::run([] {
    auto ch = goro::make_chan<int>();
    // receives one value from the channel
    goro::go([ch] {
      int i = ch.recv().value();
      examples::println(i);
      wg.done();
    });

    for (int x = 0; x < 5; ++x) {
      wg.add(2);
      // sends to the channel: only the first send finds a receiver
      goro::go([ch] {
        ch.send(42);
        wg.done();
      });
    }

    wg.wait();  // never returns: the detector reports the deadlock from here
  });
}
