// goro/select.hpp: Go's select statement.
//
//   goro::select(goro::on_recv(a, [](std::optional<int> v) { ... }),
//                goro::on_send(b, 42, [] { ... }),
//                goro::on_default([] { ... }));
//
// Returns the zero-based position of the case that ran, after running its handler. Among ready
// cases one is chosen uniformly at random; a nil channel's case is never ready; without a ready
// case and without on_default, select blocks until a case is ready. select() with no cases
// blocks forever. A send case on a closed channel throws panic_error("send on closed channel")
// when chosen; the value of a send case that was not chosen is not consumed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "goro/chan.hpp"
#include "goro/source_location.hpp"

#pragma GCC visibility push(default)  // exported from libgoro.so: see CMakeLists.txt
namespace goro {

namespace detail {

// One case as the type-erased select algorithm sees it.
struct select_case {
  chan_base* c;  // null: a nil channel, never ready
  void* elem;    // send: the value (moved from only if chosen); recv: raw storage for one value
  bool is_send;
  bool ok;  // out, recv: true if a value was received, false if the channel was closed
};

// Runs Go's select over cases[0..n) (see src/chan/select.cpp). `scratch` has room for 2n
// uint16_t and `waiters` raw room for n waiters. Returns the index of the case that completed, or n
// when has_default and none was ready. Throws panic_error for a chosen send on a closed channel.
// `polled`: null, or the random order (indices into cases) in which the caller already polled
// every case once (select()'s inline pass 0): pass 0 is then skipped and that order reused.
std::size_t select_impl(select_case* cases, std::size_t n, bool has_default, std::uint16_t* scratch,
                        waiter* waiters, const goro::source_location& where,
                        const std::uint8_t* polled);

template <class T, class F>
struct recv_case {
  chan_impl<T>* c;
  F f;
  goro::source_location where;
  storage<T> slot;
  using value_type = T;
  static constexpr int kind = 0;
};

// Owns: the case holds a converted or copied value; otherwise it points at the caller's object,
// which is moved from only if this case is chosen.
template <class T, class F, bool Owns>
struct send_case {
  chan_impl<T>* c;
  std::conditional_t<Owns, T, T*> value;
  F f;
  goro::source_location where;
  using value_type = T;
  static constexpr int kind = 1;
  T* ptr() noexcept {
    if constexpr (Owns)
      return &value;
    else
      return value;
  }
};

template <class T, class U, class F>
auto make_send_case(chan_impl<T>* c, U&& value, F f, const goro::source_location& where) {
  if constexpr (std::is_same_v<std::remove_reference_t<U>, T>)
    return send_case<T, F, false>{c, &value, std::move(f), where};
  else
    return send_case<T, F, true>{c, T(std::forward<U>(value)), std::move(f), where};
}

template <class F>
struct default_case {
  F f;
  static constexpr int kind = 2;
};

struct no_handler {
  void operator()() const noexcept {}
};

template <class C>
inline constexpr bool is_default_v = std::remove_cvref_t<C>::kind == 2;

// Destroys the value in a receive case's slot once the handler's argument has been made from
// it, also when that move throws: the value has left the channel either way.
template <class T>
struct slot_consumed {
  T* p;
  ~slot_consumed() { p->~T(); }
};

// The argument of a receive handler that takes the value: the value received into `s` (`ok`),
// else nullopt. Returned as a prvalue, so that the handler's parameter is initialized right here
// rather than move-constructed from another optional (see run_case).
template <class T>
std::optional<T> take_received(storage<T>& s, bool ok) {
  if (!ok) return std::nullopt;
  slot_consumed<T> consumed{s.ptr()};
  return std::optional<T>(std::in_place, std::move(*s.ptr()));
}

// Runs the handler of the chosen case C (a receive: `ok` says whether a value arrived).
//
// A handler taking the value gets take_received()'s prvalue, so its by-value std::optional
// parameter is initialized in place. Not a local optional passed on (std::invoke binds it to a
// reference, so the parameter would be a second optional, move-constructed from the first):
// GCC 12 (-O2 and -O3, -Wall) then copies the load of a handler that uses the value untested,
// `[](std::optional<std::string> m) { use(m->c_str()); }`, into the closed-channel path, just
// after that second optional's lifetime starts, and reports it -Wmaybe-uninitialized inside this
// header. tests/userflags/ builds such handlers with -Werror at -O2 and -O3. A handler is a
// function object or a function pointer, so calling it directly loses nothing std::invoke has.
template <class C>
void run_case(void* p, bool ok) {
  C& c = *static_cast<C*>(p);
  if constexpr (C::kind == 0) {
    using T = typename C::value_type;
    if constexpr (std::is_invocable_v<decltype(c.f)&, std::optional<T>>) {
      c.f(take_received(c.slot, ok));
    } else {
      if (ok) c.slot.ptr()->~T();
      c.f();
    }
  } else {
    c.f();
  }
}

// One step of an inside-out Fisher-Yates shuffle (select's random poll order): puts v at a
// uniformly random position among a[0..k] (what was there moves to a[k]) and counts it. Each
// step takes the high bits of a 32-bit multiply of r (no division), then re-mixes r.
template <class I>
[[gnu::always_inline]] inline void shuffle_in(I* a, std::size_t& k, I v,
                                              std::uint64_t& r) noexcept {
  const auto j = static_cast<std::size_t>(((r & 0xffffffffu) * (k + 1)) >> 32);
  r = r * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  a[k] = a[j];
  a[j] = v;
  k++;
}

// select() polls up to this many cases inline, with the channel operations typed and the
// handler called directly; more cases go straight to select_impl's type-erased pass 0.
inline constexpr std::size_t kInlinePollMax = 4;

// Pass 0 for one case, typed: completes it if it is ready right now (nil: never). Takes the
// channel's lock only when the lock-free peek says it may be ready.
template <class C>
[[gnu::always_inline]] inline op_result poll_case(C& c) {
  auto* ch = c.c;
  if constexpr (C::kind == 0) {
    if (!ch || ch->recv_not_ready_relaxed()) return op_result::not_ready;
  } else {
    if (!ch || ch->send_not_ready_relaxed()) return op_result::not_ready;
  }
  const int rival = ch->lock_noting_rival();
  waiter* wake = nullptr;
  op_result r;
  if constexpr (C::kind == 0)
    r = ch->recv_typed_inline(c.slot.bytes, &wake);
  else
    r = ch->send_typed_inline(*c.ptr(), &wake);
  ch->unlock_after(r, wake, rival);
  return r;
}

// Polls case c; when it completes, runs its handler and returns true.
template <class C>
[[gnu::always_inline]] inline bool poll_run(C& c) {
  op_result r = poll_case(c);
  if (r == op_result::not_ready) return false;
  if constexpr (C::kind == 1)
    if (r == op_result::closed) throw_panic("send on closed channel");
  run_case<C>(&c, r == op_result::ok);
  return true;
}

// poll_run() on case I if it is the one at argument position `arg`. A function rather than a
// lambda so that it can be forced inline: GCC outlined a lambda here once the select sat in a
// loop of its caller, and a two-case select in such a loop cost 30 ns instead of 21.
template <std::size_t I, class C>
[[gnu::always_inline]] inline void poll_if(std::size_t arg, bool& done, C& c) {
  if constexpr (C::kind != 2)
    if (arg == I) done = poll_run(c);
}

// poll_run() on the case at argument position `arg` (never a default case).
template <std::size_t... Is, class... Cases>
[[gnu::always_inline]] inline bool poll_at(std::size_t arg, std::index_sequence<Is...>,
                                           Cases&... cases) {
  bool done = false;
  (poll_if<Is>(arg, done, cases), ...);
  return done;
}

// Argument positions of the cases that are not on_default, in order.
template <class... Cases>
constexpr auto case_positions() {
  constexpr bool is_default[] = {is_default_v<Cases>...};
  std::array<std::uint8_t, sizeof...(Cases) - (0 + ... + (is_default_v<Cases> ? 1 : 0))> pos{};
  std::size_t k = 0;
  for (std::size_t arg = 0; arg < sizeof...(Cases); arg++)
    if (!is_default[arg]) pos[k++] = static_cast<std::uint8_t>(arg);
  return pos;
}

}  // namespace detail

// A receive case: f(std::optional<T>) (nullopt when the channel is closed) or f().
template <class T, class F>
auto on_recv(const chan<T>& ch, F f,
             goro::source_location where = goro::source_location::current()) {
  return detail::recv_case<T, F>{ch.impl(), std::move(f), where, {}};
}
template <class T, class F>
auto on_recv(const recv_chan<T>& ch, F f,
             goro::source_location where = goro::source_location::current()) {
  return detail::recv_case<T, F>{ch.impl(), std::move(f), where, {}};
}

// A send case: f() runs after the value was handed over. A value of type T is referred to,
// not copied, and moved from only if this case is chosen; anything else is converted to T
// inside the case. Like every case, it must be passed to select() in the full expression that
// makes it: `auto c = on_send(ch, 42);` would refer to a temporary that is gone.
template <class T, class U, class F = detail::no_handler>
auto on_send(const chan<T>& ch, U&& value, F f = {},
             goro::source_location where = goro::source_location::current()) {
  return detail::make_send_case(ch.impl(), std::forward<U>(value), std::move(f), where);
}
template <class T, class U, class F = detail::no_handler>
auto on_send(const send_chan<T>& ch, U&& value, F f = {},
             goro::source_location where = goro::source_location::current()) {
  return detail::make_send_case(ch.impl(), std::forward<U>(value), std::move(f), where);
}

// Makes the select non-blocking: f() runs when no other case is ready.
template <class F>
auto on_default(F f) {
  return detail::default_case<F>{std::move(f)};
}

// Go's `select {}`: blocks forever.
[[noreturn]] inline void select(goro::source_location where = goro::source_location::current()) {
  detail::park_forever(detail::wait_reason::select_no_cases, where);
}

namespace detail {

// select() once the inline pass 0 (if any) found nothing ready: type-erases the cases and runs
// select_impl. Out of line so that the common case, a ready case, stays small.
template <class... Cases>
[[gnu::noinline]] std::size_t select_erased(const std::uint8_t* polled, Cases&... cases) {
  constexpr auto pos = case_positions<Cases...>();
  constexpr std::size_t n = pos.size();
  constexpr bool has_default = n < sizeof...(Cases);
  select_case descs[n];
  std::size_t default_pos = 0;
  goro::source_location where = goro::source_location::current();
  {
    std::size_t i = 0, arg = 0;
    auto add = [&](auto& c) {
      using C = std::remove_cvref_t<decltype(c)>;
      if constexpr (C::kind == 2) {
        default_pos = arg;
      } else {
        if (i == 0) where = c.where;
        if constexpr (C::kind == 0)
          descs[i] = {c.c, c.slot.bytes, false, false};
        else
          descs[i] = {c.c, c.ptr(), true, false};
        i++;
      }
      arg++;
    };
    (add(cases), ...);
  }
  std::uint16_t scratch[2 * n];
  // Raw: select_impl constructs waiters only when it has to block.
  alignas(waiter) unsigned char waiters[n * sizeof(waiter)];
  std::size_t chosen = select_impl(descs, n, has_default, scratch,
                                   reinterpret_cast<waiter*>(waiters), where, polled);
  std::size_t chosen_pos = chosen == n ? default_pos : pos[chosen];
  // One indirect call through a table of runners (one per case type), not a compare per case.
  using runner = void (*)(void* c, bool ok);
  static constexpr runner runners[] = {&run_case<Cases>...};
  void* objects[] = {static_cast<void*>(&cases)...};
  runners[chosen_pos](objects[chosen_pos], chosen != n && descs[chosen].ok);
  return chosen_pos;
}

}  // namespace detail

template <class... Cases>
requires(sizeof...(Cases) > 0) std::size_t select(Cases&&... cases) {
  constexpr auto pos = detail::case_positions<std::remove_cvref_t<Cases>...>();
  constexpr std::size_t n = pos.size();
  static_assert(sizeof...(Cases) - n <= 1, "goro::select: at most one on_default case");

  if constexpr (n == 0) {  // only a default case
    (std::invoke(cases.f), ...);
    return 0;
  } else if constexpr (n > detail::kInlinePollMax) {
    return detail::select_erased<std::remove_cvref_t<Cases>...>(nullptr, cases...);
  } else {
    // Pass 0, inline: poll the cases in a uniformly random order; the first ready one wins.
    // order[] holds indices into pos[].
    std::uint8_t order[n] = {};
    if constexpr (n == 2) {
      const auto first = static_cast<std::uint8_t>(detail::fastrand() >> 63);
      order[0] = first;
      order[1] = first ^ 1;
    } else if constexpr (n > 2) {
      std::uint64_t r = detail::fastrand();
      std::size_t k = 0;
      for (std::size_t i = 0; i < n; i++)
        detail::shuffle_in(order, k, static_cast<std::uint8_t>(i), r);
    }
    constexpr auto all = std::index_sequence_for<Cases...>{};
    for (std::size_t k = 0; k < n; k++)
      if (detail::poll_at(pos[order[k]], all, cases...)) return pos[order[k]];
    if constexpr (n == 1 && n < sizeof...(Cases)) {
      // One poll of one channel is a snapshot: nothing was ready, so the default case runs.
      auto run_default = [](auto& c) {
        if constexpr (detail::is_default_v<decltype(c)>) std::invoke(c.f);
      };
      (run_default(cases), ...);
      return pos[0] == 0 ? 1 : 0;
    } else {
      return detail::select_erased<std::remove_cvref_t<Cases>...>(order, cases...);
    }
  }
}

}  // namespace goro
#pragma GCC visibility pop
