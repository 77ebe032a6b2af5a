// Seed program 7: a logger goroutine that nothing ever stops. It ranges over log_ch, which is
// never closed, so it is still blocked there when main returns; goro::run then returns without
// waiting for it (as Go's main does) and the process exits with the logger torn down.
#include <chrono>
#include <goro/goro.hpp>

#include "common/log_entry.hpp"

using examples::log_entry;
using examples::log_info;

// Go: var logCh = make(chan logEntry, 50)
goro::chan<log_entry> log_ch = goro::make_chan<log_entry>(50);

// Not in the Go program: the number of entries sent but not printed yet (see main).
goro::wait_group unprinted;

void logger() {
  for (const log_entry& entry : log_ch) {
    examples::print_entry(entry);
    unprinted.done();
  }
}

int main() {
  return goro::run([] {
    unprinted.add(2);
    goro::go([] { logger(); });  // Go: go logger()
    log_ch.send({std::chrono::system_clock::now(), log_info, "App is starting..."});
    log_ch.send({std::chrono::system_clock::now(), log_info, "App is shutting down!"});

    // Go sleeps 100 s here and relies on that alone. But Go guarantees nothing about a
    // goroutine once main returns: the program exits at once, printed or not, and a sleep only
    // makes printing likely. Waiting until the logger has printed both entries is what makes
    // the output certain; the sleep stays, shortened, to keep the Go program's shape.
    unprinted.wait();
    goro::sleep_for(std::chrono::milliseconds(100));
  });
}
