// tests/userflags/select_handlers.cpp: select handlers as users write them, built with
// -Wall -Wextra -Werror at -O2 and -O3 (see CMakeLists.txt).
//
// The handlers dereference their std::optional with ->, * and .value() without testing it
// first, as code does that knows its channel stays open; GCC 12 once reported such handlers as
// reading an uninitialized optional from inside goro/select.hpp. Covered: strings, vectors,
// unique_ptr and a struct; 1 to 5 cases (up to 4 are polled inline, 5 go through the
// type-erased pass); with and without on_default; a ready case and a case that has to block.
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

struct point {
  std::string name;
  int x = 0;
  int y = 0;
};

// One case, the value already buffered: a ready inline poll.
std::size_t one_string_ready() {
  auto ch = goro::make_chan<std::string>(1);
  ch.send("hello, select");
  std::size_t len = 0;
  goro::select(goro::on_recv(ch, [&](std::optional<std::string> m) { len = m->size(); }));
  return len;
}

// Two cases and nothing buffered: select blocks until a goroutine sends.
std::string two_cases_blocking() {
  auto words = goro::make_chan<std::string>();
  auto numbers = goro::make_chan<std::vector<int>>();
  goro::go([numbers] { numbers.send(std::vector<int>{4, 5, 6}); });
  std::string got;
  for (int i = 0; i < 1; i++) {
    goro::select(goro::on_recv(words, [&](std::optional<std::string> m) { got = *m; }),
                 goro::on_recv(numbers, [&](std::optional<std::vector<int>> v) {
                   got = std::to_string(v->size()) + ":" + std::to_string((*v)[0] + v.value()[2]);
                 }));
  }
  return got;
}

// unique_ptr: ->, * and .value() on the optional, then on the pointer.
int unique_ptrs() {
  auto ch = goro::make_chan<std::unique_ptr<int>>(3);
  ch.send(std::make_unique<int>(1));
  ch.send(std::make_unique<int>(20));
  ch.send(std::make_unique<int>(300));
  int sum = 0;
  auto take = [&](std::optional<std::unique_ptr<int>> p) { sum += **p; };
  auto take_get = [&](std::optional<std::unique_ptr<int>> p) { sum += *p->get(); };
  auto take_value = [&](std::optional<std::unique_ptr<int>> p) { sum += *p.value(); };
  goro::select(goro::on_recv(ch, take));
  goro::select(goro::on_recv(ch, take_get), goro::on_default([] {}));
  goro::select(goro::on_recv(ch, take_value));
  return sum;
}

// A struct, a handler taking the optional by const reference and one taking it by rvalue
// reference, and a generic lambda.
int structs() {
  auto ch = goro::make_chan<point>(3);
  ch.send(point{"a", 1, 2});
  ch.send(point{"b", 3, 4});
  ch.send(point{"c", 5, 6});
  int sum = 0;
  goro::select(goro::on_recv(ch, [&](const std::optional<point>& p) { sum += p->x + p->y; }));
  goro::select(goro::on_recv(ch, [&](std::optional<point>&& p) { sum += (*p).x * 10; }));
  goro::select(goro::on_recv(ch, [&](auto p) { sum += static_cast<int>(p->name.size()) * 100; }));
  return sum;
}

// Three and four cases, inline; five, type-erased. Exactly one channel has a value.
template <class... Chans>
std::string many_cases(const goro::chan<std::string>& ready, Chans&... idle) {
  std::string got;
  auto handler = [&](std::optional<std::string> m) { got += m->c_str(); };
  goro::select(goro::on_recv(ready, handler), goro::on_recv(idle, handler)...);
  return got;
}

std::string three_four_five() {
  std::vector<goro::chan<std::string>> chans;
  chans.reserve(5);
  for (int i = 0; i < 5; i++) chans.push_back(goro::make_chan<std::string>(1));
  std::string out;
  chans[0].send("3");
  out += many_cases(chans[0], chans[1], chans[2]);
  chans[0].send("4");
  out += many_cases(chans[0], chans[1], chans[2], chans[3]);
  chans[0].send("5");
  out += many_cases(chans[0], chans[1], chans[2], chans[3], chans[4]);
  return out;
}

// A closed channel hands the handler nullopt; a handler that may see a close tests for it.
bool closed_channel() {
  auto ch = goro::make_chan<std::string>();
  ch.close();
  bool saw_close = false;
  goro::select(goro::on_recv(ch, [&](const std::optional<std::string>& m) { saw_close = !m; }));
  return saw_close;
}

}  // namespace

int main() {
  return goro::run([] {
    check(one_string_ready() == 13, "one_string_ready");
    check(two_cases_blocking() == "3:10", "two_cases_blocking");
    check(unique_ptrs() == 321, "unique_ptrs");
    check(structs() == 3 + 30 + 100, "structs");
    check(three_four_five() == "345", "three_four_five");
    check(closed_channel(), "closed_channel");
    return 0;
  });
}
