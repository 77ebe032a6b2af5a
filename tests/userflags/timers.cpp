// tests/userflags/timers.cpp: timeouts and tickers in select as users write them, built with
// -Wall -Wextra -Werror at -O2 and -O3 (see CMakeLists.txt).
//
// Covered: goro::after() as a select case beside a string channel (the reply wins; the timeout
// wins), a handler that reads the time value an after() channel delivers, a ticker's channel
// in a select loop with a quit channel, a timer stopped before it fires, and sleep_for.
#include <chrono>
#include <goro/goro.hpp>
#include <optional>
#include <string>

#include "check.hpp"

using namespace std::chrono_literals;
using userflags::check;

namespace {

std::string reply_or_timeout(bool reply) {
  auto replies = goro::make_chan<std::string>(1);
  if (reply) replies.send("reply");
  std::string got;
  goro::select(goro::on_recv(replies, [&](std::optional<std::string> r) { got = r->c_str(); }),
               goro::on_recv(goro::after(reply ? 1h : 1ms), [&] { got = "timeout"; }));
  return got;
}

bool after_delivers_a_time() {
  const auto start = std::chrono::steady_clock::now();
  bool later = false;
  goro::select(goro::on_recv(
      goro::after(1ms), [&](std::optional<goro::time_point> t) { later = *t >= start + 1ms; }));
  return later;
}

int ticks_until_quit() {
  goro::ticker tick(1ms);
  auto quit = goro::make_chan<goro::signal>();
  goro::go([quit] {
    goro::sleep_for(20ms);
    quit.close();
  });
  int ticks = 0;
  for (bool done = false; !done;) {
    goro::select(goro::on_recv(tick.c(),
                               [&](std::optional<goro::time_point> t) {
                                 if (t.value().time_since_epoch().count() != 0) ticks++;
                               }),
                 goro::on_recv(quit, [&] { done = true; }));
  }
  tick.stop();
  return ticks;
}

bool stopped_timer_never_fires() {
  goro::timer t(1h);
  const bool stopped = t.stop();
  bool fired = false;
  goro::select(goro::on_recv(t.c(), [&] { fired = true; }), goro::on_default([] {}));
  return stopped && !fired;
}

}  // namespace

int main() {
  return goro::run([] {
    check(reply_or_timeout(true) == "reply", "reply wins");
    check(reply_or_timeout(false) == "timeout", "timeout wins");
    check(after_delivers_a_time(), "after_delivers_a_time");
    check(ticks_until_quit() >= 1, "ticks_until_quit");
    check(stopped_timer_never_fires(), "stopped_timer_never_fires");
    return 0;
  });
}
