// Seed program 9: the logger stopped through a signal-only channel. chan<goro::signal> is
// Go's chan struct{}: its messages carry no data and cost no allocation. The logger's select
// blocks until either channel has something: an entry to print, or the signal to stop.
#include <chrono>
#include <goro/goro.hpp>

#include "common/log_entry.hpp"

using examples::log_entry;
using examples::log_info;

goro::chan<log_entry> log_ch = goro::make_chan<log_entry>(50);
goro::chan<goro::signal> done_ch = goro::make_chan<goro::signal>();  // signal only

// Not in the Go program: lets main wait until the logger has returned (see main).
goro::wait_group logger_running;

void logger() {
  for (;;) {
    const std::size_t chosen = goro::select(
        goro::on_recv(log_ch,
                      [](std::optional<log_entry> entry) { examples::print_entry(entry.value()); }),
        goro::on_recv(done_ch, [] {}));
    if (chosen == 1) {
      // Go's `break` here leaves only the select, so the seed's logger loops on forever: return.
      //
      // Entries sent before the signal may still be buffered (when both cases are ready, select
      // picks one at random): print them before stopping.
      log_entry entry;
      while (log_ch.try_recv(entry) == goro::status::ok) {
        examples::print_entry(entry);
      }
      return;
    }
  }
}

int main() {
  return goro::run([] {
    logger_running.add(1);
    goro::go([] {  // Go: go logger()
      logger();
      logger_running.done();
    });
    log_ch.send({std::chrono::system_clock::now(), log_info, "App is starting..."});
    log_ch.send({std::chrono::system_clock::now(), log_info, "App is shutting down!"});

    goro::sleep_for(std::chrono::milliseconds(100));  // Go: time.Sleep(100 * time.Second)
    done_ch.send(goro::signal{});                     // Go: doneCh <- struct{}{}
    // Go's main returns right after the handoff and may exit before the logger printed; this
    // waits until it has returned, so the output does not depend on timing.
    logger_running.wait();
  });
}
