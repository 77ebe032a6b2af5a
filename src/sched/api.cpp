// The public entry points of goro/runtime.hpp that belong to the scheduler: yield,
// goroutine_id, num_goroutine, max_procs, sleep_for/sleep_until and the debug counters.
#include <sched.h>

#include <chrono>
#include <thread>

#include "diag/diag.hpp"
#include "goro/runtime.hpp"
#include "sched/worker.hpp"

namespace goro {

void yield() {
  detail::thread_state* t = detail::ts();
  if (!t->g) {
    sched_yield();
    return;
  }
  detail::switch_out(detail::post_action::yield);
}

void lock_os_thread() noexcept {
  detail::thread_state* t = detail::ts();
  detail::goroutine* g = t->g;
  if (!g) return;  // a plain thread (or inside blocking()) keeps its thread anyway
  if (g->lock_depth++ == 0) {
    g->locked_m = t->m;
    t->m->locked_g = g;
  }
}

void unlock_os_thread() noexcept {
  detail::thread_state* t = detail::ts();
  detail::goroutine* g = t->g;
  if (!g || g->lock_depth == 0) return;  // as Go: unlocking an unlocked goroutine is a no-op
  if (--g->lock_depth == 0) {
    t->m->locked_g = nullptr;
    g->locked_m = nullptr;
  }
}

std::uint64_t goroutine_id() noexcept {
  detail::thread_state* t = detail::ts();
  detail::goroutine* g = t->g ? t->g : t->blocking_g;
  return g ? g->id.load(std::memory_order_relaxed) : 0;
}

std::size_t num_goroutine() noexcept {
  std::int64_t n = detail::live_goroutines();
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

unsigned max_procs() {
  detail::ensure_started(nullptr);
  // acquire: pairs with the release stores of procs in ensure_started().
  return detail::S().procs.load(std::memory_order_acquire);
}

namespace {

// Sleeps until `until` (steady ns, saturated: kNever, as for Go's time.Sleep(math.MaxInt64),
// sleeps for ever; see sleep_g()).
void sleep_until_ns(std::int64_t until, const goro::source_location& where) {
  if (!detail::current_g()) {
    if (until == detail::kNever) {
      for (;;) std::this_thread::sleep_for(std::chrono::hours(24 * 365));
    }
    std::this_thread::sleep_until(
        std::chrono::steady_clock::time_point(std::chrono::nanoseconds(until)));
    return;
  }
  if (until <= detail::now_ns()) {
    yield();
    return;
  }
  detail::sleep_g(until, where);
}

}  // namespace

void sleep_until(std::chrono::steady_clock::time_point t, goro::source_location where) {
  sleep_until_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count(),
                 where);
}

void sleep_for(std::chrono::nanoseconds d, goro::source_location where) {
  sleep_until_ns(detail::deadline_after(detail::now_ns(), d.count()), where);
}

namespace debug {
std::size_t live_stacks() noexcept {
  return static_cast<std::size_t>(detail::sum_over_workers(&detail::worker::stacks_delta) +
                                  detail::S().global_stacks.load(std::memory_order_relaxed));
}

std::string goroutine_status(std::uint64_t id) {
  const char* s = detail::goroutine_status_text(id);
  return s ? s : "";
}

std::size_t runtime_threads() noexcept {
  const int n = detail::S().nthreads.load(std::memory_order_relaxed);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

std::size_t spare_threads() noexcept {
  detail::sched_state& s = detail::S();
  s.spare_lock.lock();
  const int n = s.nspare;
  s.spare_lock.unlock();
  return static_cast<std::size_t>(n);
}
}  // namespace debug

}  // namespace goro
