// Graceful shutdown on Ctrl-C: a logger like the seed's (programs 7-9) runs until the program gets
// SIGINT or SIGTERM, then prints everything still queued before the program ends. goro::os::notify
// is Go's signal.Notify: the signal becomes a value on a channel, and main simply receives it.
//
// Run it and press Ctrl-C (or `kill <pid>`). With --self-interrupt it sends itself SIGINT in
// place of the Ctrl-C, which is how its test runs it.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <goro/goro.hpp>
#include <string>
#include <string_view>

#include "common/log_entry.hpp"

using examples::log_entry;
using examples::log_info;

int main(int argc, char** argv) {
  const bool self_interrupt = argc > 1 && std::string_view(argv[1]) == "--self-interrupt";
  return goro::run([self_interrupt] {
    // Go: sigCh := make(chan os.Signal, 1); signal.Notify(sigCh, os.Interrupt, syscall.SIGTERM)
    // One slot: the relay never blocks, so an unbuffered channel could miss the signal.
    auto sig_ch = goro::make_chan<int>(1);
    goro::os::notify(sig_ch, {SIGINT, SIGTERM});

    auto log_ch = goro::make_chan<log_entry>(50);
    goro::wait_group logger_done;
    logger_done.add(1);
    goro::go([log_ch, &logger_done] {  // the logger: prints until log_ch is closed and drained
      for (const log_entry& entry : log_ch) examples::print_entry(entry);
      logger_done.done();
    });
    auto log = [log_ch](std::string message) {
      log_ch.send({std::chrono::system_clock::now(), log_info, std::move(message)});
    };

    log("App is starting...");
    log("Waiting for Ctrl-C (SIGINT) or SIGTERM");
    if (self_interrupt) kill(getpid(), SIGINT);

    const int s = *sig_ch.recv();  // blocks until the signal: not a deadlock while notified
    // From here on a second Ctrl-C ends the program at once, as before notify.
    goro::os::stop(sig_ch);
    log(std::string("Got ") + (s == SIGINT ? "SIGINT" : "SIGTERM") + ": shutting down");
    log_ch.close();      // the logger prints what is queued, then returns
    logger_done.wait();  // graceful: nothing queued is lost
    examples::println("Bye");
  });
}
