// The tutorial's logger (seed program 9) shut down with a context instead of a signal-only
// channel: main cancels, the logger's select sees ctx.done() closed, and an errgroup waits for
// it. Go's version of the same program is in docs/tutorial.md, side by side.
#include <chrono>
#include <goro/goro.hpp>
#include <optional>

#include "common/log_entry.hpp"

using examples::log_entry;
using examples::log_info;

// Go: func logger(ctx context.Context, logCh <-chan logEntry) error
void logger(const goro::context& ctx, goro::recv_chan<log_entry> log_ch) {
  for (;;) {
    const std::size_t chosen = goro::select(
        goro::on_recv(log_ch,
                      [](std::optional<log_entry> entry) { examples::print_entry(entry.value()); }),
        goro::on_recv(ctx.done(), [] {}));
    if (chosen == 1) {
      // Entries sent before the cancel may still be buffered: print them before stopping.
      log_entry entry;
      while (log_ch.try_recv(entry) == goro::status::ok) examples::print_entry(entry);
      return;
    }
  }
}

int main() {
  return goro::run([] {
    auto [ctx, cancel] = goro::with_cancel(goro::background());
    auto log_ch = goro::make_chan<log_entry>(50);
    goro::errgroup g;
    g.go([ctx = ctx, log_ch] { logger(ctx, log_ch); });  // Go: g.Go(func() error {...})

    log_ch.send({std::chrono::system_clock::now(), log_info, "App is starting..."});
    log_ch.send({std::chrono::system_clock::now(), log_info, "App is shutting down!"});
    cancel();  // Go: cancel(); every goroutine selecting on ctx.Done() stops
    g.wait();  // Go: g.Wait(): returns once the logger has
  });
}
