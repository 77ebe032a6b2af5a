// Port of test/chan/select2.go (main): memory must not grow over many selects. Go measures
// heap growth over 100000 selects of a receiver against a sender; here this binary replaces
// the global operator new/delete with counting versions (hence its own binary) and checks that
// the number of live allocations after many selects is what it was after a warm-up: a select,
// or a channel operation, that leaked anything per call would leave about one live allocation
// per iteration. It also checks API.md's promise that chan<signal> allocates nothing per
// message.
#include <atomic>
#include <cstdlib>
#include <new>
#include <optional>

#include "conformance.hpp"

namespace {

std::atomic<long long> g_allocations{0};  // operator new calls so far
std::atomic<long long> g_live{0};         // allocations not yet freed

void* counted_alloc(std::size_t size, std::size_t align) {
  if (size == 0) size = 1;
  void* p = nullptr;
  if (align <= alignof(std::max_align_t)) {
    p = std::malloc(size);
  } else {
    p = std::aligned_alloc(align, (size + align - 1) / align * align);
  }
  if (p) {
    // relaxed: plain counters, read after the threads that bump them have synchronised with
    // the reader through the channel operations of the test.
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    g_live.fetch_add(1, std::memory_order_relaxed);
  }
  return p;
}

void counted_free(void* p) noexcept {
  if (!p) return;
  g_live.fetch_sub(1, std::memory_order_relaxed);
  std::free(p);
}

}  // namespace

void* operator new(std::size_t size) {
  if (void* p = counted_alloc(size, alignof(std::max_align_t))) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = counted_alloc(size, alignof(std::max_align_t))) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t align) {
  if (void* p = counted_alloc(size, static_cast<std::size_t>(align))) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t align) {
  if (void* p = counted_alloc(size, static_cast<std::size_t>(align))) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return counted_alloc(size, alignof(std::max_align_t));
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return counted_alloc(size, alignof(std::max_align_t));
}
void* operator new(std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return counted_alloc(size, static_cast<std::size_t>(align));
}
void* operator new[](std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return counted_alloc(size, static_cast<std::size_t>(align));
}
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  counted_free(p);
}

namespace {

using conformance::run_checked;
using goro::make_chan;
using goro::on_recv;

// Go's sender: n values on c.
void sender(goro::chan<int> c, int n) {
  for (int i = 0; i < n; ++i) c.send(1);
}

// Go's receiver: n selects between c and a channel nobody uses.
void receiver(goro::chan<int> c, goro::chan<int> dummy, int n) {
  for (int i = 0; i < n; ++i) {
    goro::select(on_recv(c, [] {}), on_recv(dummy, [] { ADD_FAILURE() << "got from dummy"; }));
  }
}

// Live allocations may move by a few (a worker's queue growing, a stack cached or freed), but
// not by anything close to one per iteration.
constexpr long long slack = 64;

TEST(Select2, LiveAllocationsDoNotGrowOverManySelects) {
  const int n = conformance::scaled(100000);
  run_checked([n] {
    auto c = make_chan<int>();
    auto dummy = make_chan<int>();
    // Warm-up: lets the runtime make whatever it keeps (stacks, queues, timers) once.
    goro::go(sender, c, 1000);
    receiver(c, dummy, 1000);

    const long long live_before = g_live.load(std::memory_order_relaxed);
    goro::go(sender, c, n);
    receiver(c, dummy, n);
    const long long live_after = g_live.load(std::memory_order_relaxed);
    EXPECT_LT(live_after - live_before, slack)
        << "live allocations grew from " << live_before << " to " << live_after << " over " << n
        << " selects";
  });
}

// Selects in one goroutine on buffered channels: no other goroutine involved, so the count of
// operator new calls itself must stay flat, not just the live count.
TEST(Select2, NonBlockingSelectsAllocateNothing) {
  const int n = conformance::scaled(100000);
  run_checked([n] {
    auto a = make_chan<int>(1);
    auto b = make_chan<int>(1);
    auto idle = make_chan<int>();
    a.send(0);
    auto step = [&] {
      // Moves the single value between a and b, plus a default-guarded select that finds
      // nothing ready.
      goro::select(on_recv(a, [&] { b.send(0); }), on_recv(b, [&] { a.send(0); }));
      goro::select(on_recv(idle, [] {}), goro::on_default([] {}));
    };
    for (int i = 0; i < 100; ++i) step();
    const long long before = g_allocations.load(std::memory_order_relaxed);
    for (int i = 0; i < n; ++i) step();
    const long long after = g_allocations.load(std::memory_order_relaxed);
    EXPECT_LT(after - before, slack) << (after - before) << " allocations in " << n << " steps";
  });
}

// API.md: "chan<signal> stores no payload and allocates nothing per message".
TEST(Select2, SignalChannelAllocatesNothingPerMessage) {
  const int n = conformance::scaled(100000);
  run_checked([n] {
    auto ch = make_chan<goro::signal>(16);
    for (int i = 0; i < 16; ++i) ch.send({});
    for (int i = 0; i < 16; ++i) (void)ch.recv();
    const long long before = g_allocations.load(std::memory_order_relaxed);
    for (int i = 0; i < n; ++i) {
      ch.send({});
      (void)ch.recv();
      goro::signal s;
      (void)ch.try_send(s);
      (void)ch.try_recv(s);
    }
    const long long after = g_allocations.load(std::memory_order_relaxed);
    EXPECT_LT(after - before, slack) << (after - before) << " allocations for " << n << " messages";
  });
}

// The same between two goroutines over an unbuffered signal channel: per message, a send
// parks or wakes a goroutine, which must not allocate either.
TEST(Select2, UnbufferedSignalRendezvousDoesNotGrowLiveAllocations) {
  const int n = conformance::scaled(50000);
  run_checked([n] {
    auto ch = make_chan<goro::signal>();
    auto done = make_chan<goro::signal>();
    auto pump = [ch, done](int count) {
      for (int i = 0; i < count; ++i) ch.send({});
      done.send({});
    };
    goro::go(pump, 1000);
    for (int i = 0; i < 1000; ++i) (void)ch.recv();
    done.recv();
    const long long live_before = g_live.load(std::memory_order_relaxed);
    goro::go(pump, n);
    for (int i = 0; i < n; ++i) (void)ch.recv();
    done.recv();
    const long long live_after = g_live.load(std::memory_order_relaxed);
    EXPECT_LT(live_after - live_before, slack);
  });
}

}  // namespace
