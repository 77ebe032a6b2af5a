// White-box tests of the runtime's core containers (src/ headers): the run queue against
// concurrent thieves, the timer heap's order and index bookkeeping, and the stack pool. They
// need no scheduler: each test drives the container directly from plain threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "base/locks.hpp"
#include "fiber/fiber.hpp"
#include "sched/runq.hpp"
#include "timer/heap.hpp"

namespace {

using goro::detail::goroutine;
using goro::detail::run_queue;

// The owner pushes and pops while thieves steal halves: every goroutine pushed is taken exactly
// once, by the owner or by one thief, and the owner sees its own in FIFO order.
TEST(run_queue_test, OwnerAgainstConcurrentThievesTakesEachOnce) {
  constexpr int kItems = 200000;
  std::vector<goroutine> gs(kItems);
  run_queue q;
  std::vector<std::atomic<int>> taken(kItems);
  std::atomic<bool> done{false};
  auto index = [&](goroutine* g) { return static_cast<int>(g - gs.data()); };
  auto thief = [&] {
    goroutine* batch[run_queue::kSize / 2 + 1];
    while (!done.load(std::memory_order_acquire)) {
      std::uint32_t n = q.steal_half(batch);
      for (std::uint32_t i = 0; i < n; i++) taken[index(batch[i])].fetch_add(1);
    }
  };
  std::thread t1(thief), t2(thief);
  int pushed = 0, last_popped = -1;
  std::mt19937 rng(7);
  while (pushed < kItems) {
    int burst = static_cast<int>(rng() % 40);
    for (int i = 0; i < burst && pushed < kItems; i++)
      if (q.push(&gs[pushed])) pushed++;
    int pops = static_cast<int>(rng() % 30);
    for (int i = 0; i < pops; i++) {
      goroutine* g = q.pop();
      if (!g) break;
      EXPECT_GT(index(g), last_popped) << "the owner pops in FIFO order";
      last_popped = index(g);
      taken[index(g)].fetch_add(1);
    }
  }
  while (goroutine* g = q.pop()) taken[index(g)].fetch_add(1);
  done.store(true, std::memory_order_release);
  t1.join();
  t2.join();
  goroutine* batch[run_queue::kSize / 2 + 1];
  while (std::uint32_t n = q.steal_half(batch))
    for (std::uint32_t i = 0; i < n; i++) taken[index(batch[i])].fetch_add(1);
  for (int i = 0; i < kItems; i++) ASSERT_EQ(taken[i].load(), 1) << "goroutine " << i;
  EXPECT_EQ(q.size(), 0u);
}

TEST(run_queue_test, FullRingRefusesAndTakeHalfEmptiesHalf) {
  std::vector<goroutine> gs(run_queue::kSize + 1);
  run_queue q;
  for (std::uint32_t i = 0; i < run_queue::kSize; i++) ASSERT_TRUE(q.push(&gs[i]));
  EXPECT_FALSE(q.push(&gs[run_queue::kSize])) << "a full ring refuses";
  goroutine* out[run_queue::kSize / 2 + 1];
  EXPECT_EQ(q.take_half(out), run_queue::kSize / 2);
  EXPECT_EQ(out[0], &gs[0]) << "the oldest half goes";
  EXPECT_EQ(q.size(), run_queue::kSize / 2);
}

TEST(locked_queue_test, FifoAndBatches) {
  std::vector<goroutine> gs(10);
  goro::detail::locked_queue q;
  for (auto& g : gs) q.push(&g);
  goroutine* first = nullptr;
  ASSERT_EQ(q.pop(&first, 4), 4u);
  int k = 0;
  for (goroutine* g = first; g; g = g->next) EXPECT_EQ(g, &gs[k++]);
  EXPECT_EQ(k, 4);
  EXPECT_EQ(q.size(), 6u);
}

// ---- The timer heap ----------------------------------------------------------------------------

struct test_timer : goro::detail::rtimer {};

void check_indices(const goro::detail::timer_heap& h) GORO_REQUIRES(h.lock) {
  for (std::size_t i = 0; i < h.heap.size(); i++) {
    const auto& e = h.heap[i];
    if (e.bits & 1) {
      ASSERT_EQ(e.t()->index, static_cast<std::int32_t>(i));
    }
    if (i > 0) {
      ASSERT_LE(h.heap[(i - 1) / 4].when, e.when) << "heap order at " << i;
    }
  }
}

// Random deadlines, deletable or not, some deleted: what pops comes out in deadline order, each
// timer once, none of the deleted ones; indices stay right throughout.
TEST(timer_heap_test, PopsInDeadlineOrderAndDeletesByIndex) {
  std::mt19937_64 rng(42);
  constexpr int kTimers = 5000;
  std::vector<test_timer> ts(kTimers);
  goro::detail::timer_heap h;
  goro::detail::lock_guard held(h.lock);  // the heap's contract, though only this thread uses it
  std::set<const goro::detail::rtimer*> erased;
  std::int64_t fifo_when = 0;
  for (int i = 0; i < kTimers; i++) {
    test_timer& t = ts[i];
    t.deletable = rng() % 3 != 0;
    // Non-deletable timers mostly in order (the FIFO), sometimes not (the heap).
    if (!t.deletable && rng() % 4 != 0)
      t.when = fifo_when += static_cast<std::int64_t>(rng() % 100);
    else
      t.when = static_cast<std::int64_t>(rng() % 500000);
    h.push(&t);
    if (i % 97 == 0) check_indices(h);
  }
  for (int i = 0; i < kTimers; i += 7) {
    if (!ts[i].deletable) continue;
    ASSERT_TRUE(h.erase(&ts[i]));
    EXPECT_FALSE(h.erase(&ts[i])) << "erased twice";
    erased.insert(&ts[i]);
  }
  check_indices(h);
  h.publish();
  EXPECT_EQ(h.size.load(), kTimers - erased.size());
  std::int64_t last = -1;
  std::size_t popped = 0;
  while (goro::detail::rtimer* t = h.pop_due(goro::detail::kNever - 1)) {
    EXPECT_GE(t->when, last);
    last = t->when;
    EXPECT_EQ(erased.count(t), 0u) << "a deleted timer fired";
    EXPECT_EQ(t->index, -1);
    popped++;
  }
  EXPECT_EQ(popped, kTimers - erased.size());
  h.publish();
  EXPECT_EQ(h.next.load(), goro::detail::kNever);
}

TEST(timer_heap_test, PopDueStopsAtNow) {
  test_timer a, b;
  a.when = 10;
  b.when = 20;
  goro::detail::timer_heap h;
  goro::detail::lock_guard held(h.lock);
  EXPECT_TRUE(h.push(&b));
  EXPECT_TRUE(h.push(&a)) << "a is the new earliest";
  EXPECT_EQ(h.pop_due(5), nullptr);
  EXPECT_EQ(h.pop_due(15), &a);
  EXPECT_EQ(h.pop_due(15), nullptr);
  EXPECT_EQ(h.pop_due(20), &b);
}

// ---- The stack pool ----------------------------------------------------------------------------

TEST(stack_pool_test, StacksAreUsableDistinctAndReused) {
  goro::detail::stack_pool pool;
  pool.set_size(std::size_t{64} << 10);
  goro::detail::stack s[40];
  std::size_t got = 0;
  while (got < std::size(s)) got += pool.get(s + got, std::size(s) - got);
  std::set<char*> seen;
  for (auto& st : s) {
    ASSERT_EQ(st.size, 64u * 1024);
    EXPECT_TRUE(seen.insert(st.lo).second) << "a stack handed out twice";
    st.lo[0] = 1;  // committed on touch, at both ends
    st.top()[-1] = 1;
    char* just_below = st.lo - 1;
    EXPECT_TRUE(goro::detail::stack_guard_hit(st, just_below));
    EXPECT_FALSE(goro::detail::stack_guard_hit(st, st.lo));
  }
  pool.put(s, std::size(s));
  goro::detail::stack again;
  ASSERT_EQ(pool.get(&again, 1), 1u);
  EXPECT_EQ(seen.count(again.lo), 1u) << "a pooled stack is reused";
  pool.put(&again, 1);
  pool.set_size(std::size_t{128} << 10);  // pooled stacks of the old size go
  ASSERT_EQ(pool.get(&again, 1), 1u);
  EXPECT_EQ(again.size, 128u * 1024);
  pool.put(&again, 1);
}

TEST(stack_pool_test, CacheBatchesAndHandsBackHalfWhenFull) {
  goro::detail::stack_pool pool;
  pool.set_size(std::size_t{64} << 10);
  goro::detail::stack_cache cache;
  std::vector<goro::detail::stack> out;
  out.reserve(100);
  for (int i = 0; i < 100; i++) out.push_back(cache.take(pool));
  std::set<char*> distinct;
  for (auto& st : out) distinct.insert(st.lo);
  EXPECT_EQ(distinct.size(), out.size());
  for (auto& st : out) cache.give(pool, st);  // more than the cache holds: half go back
  for (int i = 0; i < 100; i++) out[i] = cache.take(pool);
  for (auto& st : out) cache.give(pool, st);
}

}  // namespace
