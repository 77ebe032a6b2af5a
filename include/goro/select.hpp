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

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <source_location>
#include <tuple>
#include <type_traits>
#include <utility>

#include "goro/chan.hpp"

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
std::size_t select_impl(select_case* cases, std::size_t n, bool has_default, std::uint16_t* scratch,
                        waiter* waiters, const std::source_location& where);

template <class T, class F>
struct recv_case {
  chan_impl<T>* c;
  F f;
  std::source_location where;
  storage<T> slot;
  static constexpr int kind = 0;
};

// Owns: the case holds a converted or copied value; otherwise it points at the caller's object,
// which is moved from only if this case is chosen.
template <class T, class F, bool Owns>
struct send_case {
  chan_impl<T>* c;
  std::conditional_t<Owns, T, T*> value;
  F f;
  std::source_location where;
  static constexpr int kind = 1;
  T* ptr() noexcept {
    if constexpr (Owns)
      return &value;
    else
      return value;
  }
};

template <class T, class U, class F>
auto make_send_case(chan_impl<T>* c, U&& value, F f, const std::source_location& where) {
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

template <class T, class F>
void run_recv_handler(F& f, std::optional<T> v) {
  if constexpr (std::is_invocable_v<F&, std::optional<T>>)
    std::invoke(f, std::move(v));
  else
    std::invoke(f);
}

// Runs the handler of the chosen case C (a receive: `ok` says whether a value arrived).
template <class C>
void run_case(void* p, bool ok) {
  C& c = *static_cast<C*>(p);
  if constexpr (C::kind == 0) {
    using T = std::remove_cvref_t<decltype(*c.slot.ptr())>;
    std::optional<T> v;
    if (ok) {
      v.emplace(std::move(*c.slot.ptr()));
      c.slot.ptr()->~T();
    }
    run_recv_handler<T>(c.f, std::move(v));
  } else {
    std::invoke(c.f);
  }
}

}  // namespace detail

// A receive case: f(std::optional<T>) (nullopt when the channel is closed) or f().
template <class T, class F>
auto on_recv(const chan<T>& ch, F f, std::source_location where = std::source_location::current()) {
  return detail::recv_case<T, F>{ch.impl(), std::move(f), where, {}};
}
template <class T, class F>
auto on_recv(const recv_chan<T>& ch, F f,
             std::source_location where = std::source_location::current()) {
  return detail::recv_case<T, F>{ch.impl(), std::move(f), where, {}};
}

// A send case: f() runs after the value was handed over. A value of type T is referred to,
// not copied, and moved from only if this case is chosen; anything else is converted to T
// inside the case. Like every case, it must be passed to select() in the full expression that
// makes it: `auto c = on_send(ch, 42);` would refer to a temporary that is gone.
template <class T, class U, class F = detail::no_handler>
auto on_send(const chan<T>& ch, U&& value, F f = {},
             std::source_location where = std::source_location::current()) {
  return detail::make_send_case(ch.impl(), std::forward<U>(value), std::move(f), where);
}
template <class T, class U, class F = detail::no_handler>
auto on_send(const send_chan<T>& ch, U&& value, F f = {},
             std::source_location where = std::source_location::current()) {
  return detail::make_send_case(ch.impl(), std::forward<U>(value), std::move(f), where);
}

// Makes the select non-blocking: f() runs when no other case is ready.
template <class F>
auto on_default(F f) {
  return detail::default_case<F>{std::move(f)};
}

// Go's `select {}`: blocks forever.
[[noreturn]] inline void select(std::source_location where = std::source_location::current()) {
  detail::parker* self = detail::current_parker();
  for (;;) detail::park(self, nullptr, nullptr, detail::wait_reason::select_no_cases, where);
}

template <class... Cases>
requires(sizeof...(Cases) > 0) std::size_t select(Cases&&... cases) {
  constexpr std::size_t n_default = (std::size_t{0} + ... + (detail::is_default_v<Cases> ? 1 : 0));
  static_assert(n_default <= 1, "goro::select: at most one on_default case");
  constexpr std::size_t n = sizeof...(Cases) - n_default;

  if constexpr (n == 0) {  // only a default case
    (std::invoke(cases.f), ...);
    return 0;
  } else {
    detail::select_case descs[n];
    std::size_t pos[n];  // descs index -> argument position
    std::size_t default_pos = 0;
    std::source_location where = std::source_location::current();
    bool have_where = false;
    {
      std::size_t i = 0, arg = 0;
      auto add = [&](auto& c) {
        using C = std::remove_cvref_t<decltype(c)>;
        if constexpr (C::kind == 2) {
          default_pos = arg;
        } else {
          if (!have_where) {
            where = c.where;
            have_where = true;
          }
          if constexpr (C::kind == 0)
            descs[i] = {c.c, c.slot.bytes, false, false};
          else
            descs[i] = {c.c, c.ptr(), true, false};
          pos[i++] = arg;
        }
        arg++;
      };
      (add(cases), ...);
    }
    std::uint16_t scratch[2 * n];
    // Raw: select_impl constructs waiters only when it has to block.
    alignas(detail::waiter) unsigned char waiters[n * sizeof(detail::waiter)];
    std::size_t chosen = detail::select_impl(descs, n, n_default != 0, scratch,
                                             reinterpret_cast<detail::waiter*>(waiters), where);
    std::size_t chosen_pos = chosen == n ? default_pos : pos[chosen];
    // One indirect call through a table of runners (one per case type), not a compare per case.
    using runner = void (*)(void* c, bool ok);
    static constexpr runner runners[] = {&detail::run_case<std::remove_cvref_t<Cases>>...};
    void* objects[] = {static_cast<void*>(&cases)...};
    runners[chosen_pos](objects[chosen_pos], chosen != n && descs[chosen].ok);
    return chosen_pos;
  }
}

}  // namespace goro
