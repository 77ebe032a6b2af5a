// Seed program 8: the logger shut down by a deferred close. Closing log_ch ends the logger's
// range-for, so the logger returns instead of being torn down. Go writes
// `defer func() { close(logCh) }()`; here a goro::defer guard closes the channel when main's
// scope ends.
#include <chrono>
#include <goro/goro.hpp>

#include "common/log_entry.hpp"

using examples::log_entry;
using examples::log_info;

goro::chan<log_entry> log_ch = goro::make_chan<log_entry>(50);

void logger() {
  for (const log_entry& entry : log_ch) {
    examples::print_entry(entry);
  }
}

int main() {
  return goro::run([] {
    // Not in the Go program: Go exits as soon as main returns, even while the logger is still
    // printing what was buffered before the close. Waiting for the logger makes the output
    // certain. The guards run in reverse order, like Go's defers: close, then wait.
    goro::wait_group logger_running;
    logger_running.add(1);
    goro::defer wait_for_logger([&] { logger_running.wait(); });

    goro::go([&] {
      logger();
      logger_running.done();
    });
    goro::defer close_log([] { log_ch.close(); });  // Go: defer close(logCh)

    log_ch.send({std::chrono::system_clock::now(), log_info, "App is starting..."});
    log_ch.send({std::chrono::system_clock::now(), log_info, "App is shutting down!"});

    goro::sleep_for(std::chrono::milliseconds(100));  // Go: time.Sleep(100 * time.Second)
  });
}
