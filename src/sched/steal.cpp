// Stealing and watching: how a worker out of work takes goroutines queued on another.
//
// A spinning worker (Go's spinning M; at most half the busy workers spin, see find.cpp)
// steals half of a busy worker's ring at once. Any other worker out of work watches instead:
// it sleeps briefly and then steals only from a worker that ran few goroutines meanwhile,
// i.e. one stuck behind long ones. A queue that drains through short goroutines (a program
// bound by communication) is better left on one core; a queue behind a long computation is
// worth a second one.
//
// Thieves only take from a ring's head with a CAS, and empty a runnext with a CAS: the owner
// alone fills both (runq.hpp), so nothing here needs the owner's cooperation.
#include "base/random.hpp"
#include "sched/worker.hpp"

namespace goro::detail {

namespace {

constexpr std::int64_t kWatchMinNs = 50'000;
constexpr std::int64_t kWatchMaxNs = 1'000'000;
constexpr std::int64_t kWorthStealingNs = 2'000;  // mean run length that pays for moving work

// Takes half of v's ring for w: returns one goroutine and queues the rest on w; null if the
// ring was empty.
goroutine* steal_half_into(worker* w, worker* v) noexcept {
  goroutine* batch[run_queue::kSize / 2 + 1];
  std::uint32_t n = v->q.steal_half(batch);
  if (n == 0) return nullptr;
  for (std::uint32_t k = 1; k < n; k++) push_local(w, batch[k]);
  return batch[0];
}

// Steals from a worker that has scheduled few goroutines in `elapsed` ns since ticks_before
// was taken: half its queue, else what others handed it (forced migration), else its runnext
// (runnext last, as in Go).
goroutine* steal_from_slow(worker* w, const std::uint64_t* ticks_before,
                           std::int64_t elapsed) noexcept {
  sched_state& s = S();
  unsigned procs = s.procs.load(std::memory_order_relaxed);
  for (unsigned i = 0; i < procs; i++) {
    worker* v = s.workers[i];
    if (v == w) continue;
    std::uint64_t ran = v->schedtick.load(std::memory_order_relaxed) - ticks_before[i];
    if (static_cast<std::int64_t>(ran + 1) * kWorthStealingNs > elapsed) continue;
    if (goroutine* g = steal_half_into(w, v)) return g;
    goroutine* g = nullptr;
    if (v->inbox.size() && v->inbox.pop(&g, 1)) return g;  // forced migration's hand-over
    // acquire/acq_rel: pairs with the release that filled runnext.
    g = v->runnext.load(std::memory_order_acquire);
    if (g && v->runnext.compare_exchange_strong(g, nullptr, std::memory_order_acq_rel)) return g;
  }
  return nullptr;
}

}  // namespace

goroutine* steal(worker* w) noexcept {
  sched_state& s = S();
  unsigned procs = s.procs.load(std::memory_order_relaxed);
  // One processor: nobody to steal from, and the rounds' pauses (256 of them) would be spent
  // on every trip to the idle path (a tenth of an echo server's user time at 1,024 connections).
  if (procs < 2) return nullptr;
  for (int round = 0; round < 4; round++) {
    unsigned start = static_cast<unsigned>(xorshift(w->rng) % procs);
    for (unsigned i = 0; i < procs; i++) {
      worker* v = s.workers[(start + i) % procs];
      if (v == w) continue;
      if (goroutine* g = steal_half_into(w, v)) return g;
    }
    for (unsigned k = 0; k < 64; k++) spin_pause();
  }
  return nullptr;
}

bool backlog_elsewhere(const worker* w) noexcept {
  sched_state& s = S();
  unsigned procs = s.procs.load(std::memory_order_relaxed);
  for (unsigned i = 0; i < procs; i++)
    if (s.workers[i] != w && has_queued(s.workers[i])) return true;
  return false;
}

void watch_begin(watch& wt) noexcept {
  sched_state& s = S();
  unsigned procs = s.procs.load(std::memory_order_relaxed);
  for (unsigned i = 0; i < procs; i++)
    wt.ticks_before[i] = s.workers[i]->schedtick.load(std::memory_order_relaxed);
  wt.since = now_ns();
}

goroutine* watch_end(worker* w, watch& wt) noexcept {
  sched_state& s = S();
  goroutine* g = steal_from_slow(w, wt.ticks_before, now_ns() - wt.since);
  wt.since = 0;
  // Back off while the watched workers keep draining their queues by themselves, and after
  // steals whose goroutines went back to share a busy channel (moves since our last steal):
  // stealing such a group every 50 us only splits it again (mpmc at P=2 ran 60% slower than
  // on one worker).
  const std::uint64_t moves = s.moves.load(std::memory_order_relaxed);
  const bool bounced = g && moves != w->moves_seen;
  if (g) w->moves_seen = moves;
  if (w->watch_ns == 0) w->watch_ns = kWatchMinNs;
  w->watch_ns = g && !bounced ? kWatchMinNs : std::min(2 * w->watch_ns, kWatchMaxNs);
  return g;
}

std::int64_t watch_period(worker* w) noexcept {
  if (w->watch_ns == 0) w->watch_ns = kWatchMinNs;
  return w->watch_ns;
}

bool work_visible() noexcept {
  sched_state& s = S();
  if (s.global.size() != 0) return true;
  unsigned procs = s.procs.load(std::memory_order_relaxed);
  for (unsigned i = 0; i < procs; i++)
    if (s.workers[i]->q.size() != 0) return true;
  return false;
}

}  // namespace goro::detail
