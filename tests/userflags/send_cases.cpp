// tests/userflags/send_cases.cpp: sending as users write it, built with -Wall -Wextra -Werror at
// -O2 and -O3 (see CMakeLists.txt).
//
// Covered: on_send of move-only values (a unique_ptr moved in, a unique_ptr lvalue that is
// moved from only when its case is chosen), of a string converted from a literal, a send case
// racing a receive case in one select, send() and try_send() of move-only values, and a
// pipeline of goroutines passing vectors through send_chan/recv_chan.
#include <cstddef>
#include <goro/goro.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "check.hpp"

using userflags::check;

namespace {

int move_only_sends() {
  auto ch = goro::make_chan<std::unique_ptr<int>>(2);
  auto full = goro::make_chan<std::unique_ptr<int>>();  // unbuffered, nobody receives
  goro::select(goro::on_send(ch, std::make_unique<int>(7)));
  auto keep = std::make_unique<int>(35);
  bool sent = false;
  // `full` is never ready, so the lvalue goes to `ch` and only then is moved from.
  goro::select(goro::on_send(full, keep, [] {}), goro::on_send(ch, keep, [&] { sent = true; }));
  check(sent && !keep, "the chosen send moved the lvalue");
  auto stays = std::make_unique<int>(1);
  goro::select(goro::on_send(full, stays), goro::on_default([] {}));
  check(stays && *stays == 1, "a send case not chosen leaves its value alone");
  int sum = 0;
  for (int i = 0; i < 2; i++) sum += **ch.recv();
  return sum;
}

std::string send_or_recv() {
  auto out = goro::make_chan<std::string>(1);
  auto in = goro::make_chan<std::string>(1);
  in.send("in");
  // Both cases are ready. As in Go, a case whose work is done gets a nil channel, which is
  // never ready, so the second select runs the other case.
  goro::chan<std::string> send_to = out, recv_from = in;
  std::string log;
  for (int i = 0; i < 2; i++) {
    goro::select(goro::on_send(send_to, "out",
                               [&] {
                                 log += "sent;";
                                 send_to = {};
                               }),
                 goro::on_recv(recv_from, [&](std::optional<std::string> m) {
                   log += *m + ";";
                   recv_from = {};
                 }));
  }
  check(log == "sent;in;" || log == "in;sent;", "both cases ran once");
  return out.recv().value();
}

int try_sends() {
  auto ch = goro::make_chan<std::unique_ptr<int>>(1);
  auto p = std::make_unique<int>(5);
  int n = 0;
  if (ch.try_send(std::move(p)) == goro::status::ok) n += 1;
  auto q = std::make_unique<int>(6);
  // NOLINTNEXTLINE(bugprone-use-after-move): not sent, so not moved from (what this checks)
  if (ch.try_send(std::move(q)) == goro::status::not_ready && q) n += *q * 10;
  return n;
}

int pipeline() {
  auto numbers = goro::make_chan<std::vector<int>>();
  auto squares = goro::make_chan<std::vector<int>>();
  goro::go(
      [](goro::send_chan<std::vector<int>> out) {
        for (int i = 1; i <= 3; i++) out.send(std::vector<int>(static_cast<std::size_t>(i), i));
        out.close();
      },
      numbers);
  goro::go(
      [](goro::recv_chan<std::vector<int>> in, goro::send_chan<std::vector<int>> out) {
        for (std::vector<int> v : in) {
          for (int& x : v) x *= x;
          out.send(std::move(v));
        }
        out.close();
      },
      numbers, squares);
  int sum = 0;
  for (const auto& v : squares)
    for (int x : v) sum += x;
  return sum;
}

}  // namespace

int main() {
  return goro::run([] {
    check(move_only_sends() == 42, "move_only_sends");
    check(send_or_recv() == "out", "send_or_recv");
    check(try_sends() == 61, "try_sends");
    check(pipeline() == 1 + 2 * 4 + 3 * 9, "pipeline");
    return 0;
  });
}
