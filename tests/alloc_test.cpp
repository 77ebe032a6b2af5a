// Channel operations and select allocate nothing once the channel exists (issue 3).
//
// This binary replaces the global operator new/delete with counting versions. The count is
// process-wide, so each measured region runs where nothing else can allocate: inside a
// goroutine, after a warm-up pass has filled the runtime's pools (waiter records, run queues,
// stacks for the partner goroutines, which are started before the region).
#include <array>
#include <atomic>
#include <cstdlib>
#include <new>
#include <optional>
#include <utility>

#include "test_util.hpp"

namespace {
std::atomic<std::size_t> allocations{0};

void* counted_alloc(std::size_t n, std::size_t align = 0) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (n == 0) n = 1;
  void* p = align > alignof(std::max_align_t)
                ? std::aligned_alloc(align, (n + align - 1) / align * align)
                : std::malloc(n);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  return counted_alloc(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return counted_alloc(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

using goro_test::runtime_test;
using alloc_test = runtime_test;

constexpr int ops = 2000;

// Runs `body` twice inside run's main goroutine: once to warm up, once counted.
template <class Body>
std::size_t allocations_in(Body body) {
  std::size_t counted = 0;
  goro::run([&] {
    body();  // warm-up
    const std::size_t before = allocations.load();
    body();
    counted = allocations.load() - before;
  });
  return counted;
}

TEST_F(alloc_test, CountingAllocatorWorks) {
  const std::size_t before = allocations.load();
  int* volatile p = new int(1);  // volatile: new/delete pairs may otherwise be elided
  delete p;
  EXPECT_EQ(allocations.load() - before, 1u) << "operator new is not replaced: test is void";
}

TEST_F(alloc_test, BufferedSendRecvAllocatesNothing) {
  auto ch = goro::make_chan<int>(64);
  auto sig = goro::make_chan<goro::signal>(64);
  EXPECT_EQ(allocations_in([&] {
              for (int i = 0; i < ops; ++i) {
                ch.send(i);
                sig.send({});
                EXPECT_EQ(ch.recv(), std::optional<int>(i));
                EXPECT_TRUE(sig.recv().has_value());
                int out;
                EXPECT_EQ(ch.try_send(i), goro::status::ok);
                EXPECT_EQ(ch.try_recv(out), goro::status::ok);
                EXPECT_EQ(ch.try_recv(out), goro::status::not_ready);
              }
            }),
            0u);
}

// Unbuffered (and full-buffer) traffic parks both sides: waiter records and wakeups must
// come from storage that already exists (the parked goroutine's frame or a pool).
TEST_F(alloc_test, BlockingSendRecvAllocatesNothing) {
  for (std::size_t capacity : {0, 1}) {
    SCOPED_TRACE(capacity);
    auto ping = goro::make_chan<int>(capacity);
    auto pong = goro::make_chan<int>(capacity);
    auto sig = goro::make_chan<goro::signal>(capacity);
    goro::wait_group partner_done;
    partner_done.add(1);
    goro::go([&] {
      for (int v : ping) {
        pong.send(v + 1);
        sig.send({});
      }
      partner_done.done();
    });
    EXPECT_EQ(allocations_in([&] {
                for (int i = 0; i < ops; ++i) {
                  ping.send(i);
                  EXPECT_EQ(pong.recv(), std::optional<int>(i + 1));
                  EXPECT_TRUE(sig.recv().has_value());
                }
              }),
              0u);
    ping.close();
    partner_done.wait();
  }
}

// K cases: even positions receive from a channel holding one value, odd positions send into a
// channel with room for one, so every case is ready and select picks at random among them.
// The value of a send case is the caller's lvalue: on_send refers to an int it is given rather
// than copying it, so it must outlive the select, not just this helper.
template <std::size_t I>
auto mixed_case(goro::chan<int>& ch, int& value, int& hits) {
  if constexpr (I % 2 == 0) {
    return goro::on_recv(ch, [&hits](std::optional<int> v) { hits += v.has_value(); });
  } else {
    return goro::on_send(ch, value, [&hits] { ++hits; });
  }
}

template <std::size_t... I>
std::size_t select_mixed(std::array<goro::chan<int>, sizeof...(I)>& chans,
                         std::array<int, sizeof...(I)>& values, int& hits,
                         std::index_sequence<I...>) {
  return goro::select(mixed_case<I>(chans[I], values[I], hits)...);
}

template <std::size_t K>
void check_ready_select_allocates_nothing() {
  SCOPED_TRACE(K);
  std::array<goro::chan<int>, K> chans;
  std::array<int, K> values;
  for (std::size_t i = 0; i < K; ++i) {
    chans[i] = goro::make_chan<int>(1);
    values[i] = static_cast<int>(i);
    if (i % 2 == 0) chans[i].send(static_cast<int>(i));
  }
  int hits = 0;
  const std::size_t allocs = allocations_in([&] {
    for (int n = 0; n < ops; ++n) {
      const std::size_t chosen = select_mixed(chans, values, hits, std::make_index_sequence<K>{});
      // Put the chosen channel back the way it was.
      int v = -1;
      if (chosen % 2 == 0) {
        EXPECT_EQ(chans[chosen].try_send(static_cast<int>(chosen)), goro::status::ok);
      } else {
        EXPECT_EQ(chans[chosen].try_recv(v), goro::status::ok);
        EXPECT_EQ(v, static_cast<int>(chosen));
      }
    }
  });
  EXPECT_EQ(hits, 2 * ops);
  EXPECT_EQ(allocs, 0u);
}

TEST_F(alloc_test, ReadySelectOneToEightCasesAllocatesNothing) {
  check_ready_select_allocates_nothing<1>();
  check_ready_select_allocates_nothing<2>();
  check_ready_select_allocates_nothing<3>();
  check_ready_select_allocates_nothing<4>();
  check_ready_select_allocates_nothing<5>();
  check_ready_select_allocates_nothing<6>();
  check_ready_select_allocates_nothing<7>();
  check_ready_select_allocates_nothing<8>();
}

// A select that blocks: K empty unbuffered channels, a partner goroutine sends on one of them
// each round. The select enqueues on all K, parks, is woken, and dequeues from the others.
template <std::size_t... I>
std::size_t select_recv_all(std::array<goro::chan<int>, sizeof...(I)>& chans, int& got,
                            std::index_sequence<I...>) {
  return goro::select(goro::on_recv(chans[I], [&got](std::optional<int> v) { got = *v; })...);
}

template <std::size_t K>
void check_blocking_select_allocates_nothing() {
  SCOPED_TRACE(K);
  std::array<goro::chan<int>, K> chans;
  for (auto& c : chans) c = goro::make_chan<int>();
  auto rounds = goro::make_chan<int>();
  goro::wait_group partner_done;
  partner_done.add(1);
  goro::go([&] {
    for (int n : rounds) chans[static_cast<std::size_t>(n) % K].send(n);
    partner_done.done();
  });
  const std::size_t allocs = allocations_in([&] {
    for (int n = 0; n < ops; ++n) {
      int got = -1;
      // Announce the round first so the select below usually parks before the value arrives.
      rounds.send(n);
      const std::size_t chosen = select_recv_all(chans, got, std::make_index_sequence<K>{});
      EXPECT_EQ(chosen, static_cast<std::size_t>(n) % K);
      EXPECT_EQ(got, n);
    }
  });
  EXPECT_EQ(allocs, 0u);
  rounds.close();
  partner_done.wait();
}

TEST_F(alloc_test, BlockingSelectOneToEightCasesAllocatesNothing) {
  check_blocking_select_allocates_nothing<1>();
  check_blocking_select_allocates_nothing<2>();
  check_blocking_select_allocates_nothing<3>();
  check_blocking_select_allocates_nothing<4>();
  check_blocking_select_allocates_nothing<5>();
  check_blocking_select_allocates_nothing<6>();
  check_blocking_select_allocates_nothing<7>();
  check_blocking_select_allocates_nothing<8>();
}

// A select with a send case that blocks until a partner receives.
TEST_F(alloc_test, BlockingSelectWithSendCasesAllocatesNothing) {
  auto in = goro::make_chan<int>();
  auto out = goro::make_chan<int>();
  auto never = goro::make_chan<int>();
  goro::wait_group partner_done;
  partner_done.add(1);
  goro::go([&] {
    for (int n : out) in.send(n);
    partner_done.done();
  });
  EXPECT_EQ(allocations_in([&] {
              for (int n = 0; n < ops; ++n) {
                EXPECT_EQ(goro::select(goro::on_recv(never, [] {}), goro::on_send(out, n)), 1u);
                EXPECT_EQ(goro::select(goro::on_recv(in, [] {}), goro::on_send(never, n)), 0u);
              }
            }),
            0u);
  out.close();
  partner_done.wait();
}

}  // namespace
