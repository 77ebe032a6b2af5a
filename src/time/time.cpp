// after, tick, ticker, timer and after_func: a runtime timer feeding a channel that owns it (or,
// for after_func, starting a goroutine).
//
// Ownership: the user holds handles to a timer_chan (a channel of capacity 1 that reports
// itself unbuffered); the channel holds the timer_state; the state never holds the channel
// (it only points at it), so the last handle's release destroys the channel, and the
// channel's destructor stops the timer (Go 1.23: an unreferenced timer is collected).
//
// after_func's timers have no channel: the timer object (timer_owner) holds the state
// directly, in the channel's place, and each fire starts a goroutine running f (`call` is set
// for them, `ch` stays null). Their owner's destructor drops its hold without stopping the
// timer, as Go's runtime keeps an AfterFunc timer until it fires.
//
// Invariants (timer_state::lock guards ch, armed, period and the channel's "stale" contents):
//  - refs counts the channel's hold (until its destructor; for after_func, the owner's until
//    its destructor) and one heap hold while the timer is in a heap or a fire of it is under
//    way; the last release frees the state.
//  - ch is null once the channel is being destroyed; a fire then delivers nothing.
//  - armed is true while the value of the current arming has not been put in the channel.
//    So "the value was not received" is armed || the channel holds it, and that is what
//    stop() and reset() return; they clear armed, take the timer out of its heap, wait out
//    fires under way, then drain the channel: no value from before the call is received
//    after it.
//  - Lock order: timer_state::lock, then a heap's lock or the channel's lock.
#include "goro/time.hpp"

#include <memory>
#include <stdexcept>
#include <utility>

#include "base/check.hpp"
#include "goro/runtime.hpp"
#include "sched/sched.hpp"
#include "timer/timers.hpp"

namespace goro::detail {

class timer_chan;

struct timer_state : rtimer {
  spinlock lock;
  timer_chan* ch GORO_GUARDED_BY(lock) = nullptr;
  std::int64_t period GORO_GUARDED_BY(lock) = 0;  // 0: one-shot
  bool armed GORO_GUARDED_BY(lock) = false;
  std::atomic<int> refs{1};  // the channel's (after_func: the owner's)
  // after_func only (call non-null): what each fire runs in a goroutine of its own.
  std::shared_ptr<void> func;
  void (*call)(void*) = nullptr;
  goro::source_location where;

  // Drops n holds.
  void release(int n = 1) noexcept {
    // acq_rel: the last releaser must see every other holder's writes before freeing.
    if (refs.fetch_sub(n, std::memory_order_acq_rel) == n) delete this;
  }

  static void on_fire(rtimer* r, std::int64_t now);

  // lock held. Returns whether the value of the current arming had not been received.
  bool stop_locked() noexcept GORO_REQUIRES(lock);

  // lock held. Arms for a first value d ns from now, then every period ns (0: once).
  void arm_locked(std::int64_t d, std::int64_t period_ns) GORO_REQUIRES(lock) {
    GORO_DCHECK(lock.held() && !armed);
    armed = true;
    period = period_ns;
    when = deadline_after(now_ns(), d);
    if (when == kNever) return;                    // never fires: armed for ever, in no heap
    refs.fetch_add(1, std::memory_order_relaxed);  // the heap's hold; we hold the channel's
    start_timer(this);
  }
};

class timer_chan final : public chan_impl<time_point> {
 public:
  explicit timer_chan(timer_state* s) : chan_impl<time_point>(1), s_(s) {
    reports_unbuffered_ = true;
    s->ch = this;
  }
  timer_chan(const timer_chan&) = delete;
  timer_chan& operator=(const timer_chan&) = delete;
  // The last handle is gone: nobody can receive the value any more, so the timer goes too. A
  // fire under way finds ch null and delivers nothing; it holds its own reference.
  ~timer_chan() override {
    s_->lock.lock();
    s_->ch = nullptr;
    s_->armed = false;
    const bool removed = timer_del(s_);
    s_->lock.unlock();
    s_->release(removed ? 2 : 1);  // ours, and the heap's if the timer was in one
  }
  timer_state* state() const noexcept { return s_; }

 private:
  timer_state* const s_;
};

void timer_state::on_fire(rtimer* r, std::int64_t now) {
  auto* s = static_cast<timer_state*>(r);
  bool rearmed = false;
  std::shared_ptr<void> run;  // after_func: f, started once the lock is released
  s->lock.lock();
  if (s->armed && s->call) {
    s->armed = false;
    run = s->func;
  } else if (s->armed && s->ch) {
    time_point tp{std::chrono::nanoseconds(now)};
    s->ch->try_send(tp);  // a slow receiver misses ticks, as in Go
    if (s->period > 0) {
      // The next tick is a period after this one was due, or after now if that has passed.
      s->when = deadline_after(s->when, s->period);
      if (s->when <= now) s->when = deadline_after(now, s->period);
      if (s->when != kNever) {
        start_timer(s);  // keeps the heap's hold
        rearmed = true;
      }
    } else {
      s->armed = false;
    }
  }
  // release: pairs with stop_locked()'s acquire load; what this fire did is seen by a stop()
  // that stops waiting for it. Before the unlock: after it, s may be freed by others.
  s->firing.fetch_sub(1, std::memory_order_release);
  void (*const call)(void*) = s->call;
  const goro::source_location where = s->where;
  s->lock.unlock();
  if (!rearmed) s->release();
  // On the scheduler's stack: f runs in its own goroutine, as Go's time.AfterFunc.
  if (run) goro::go([f = std::move(run), call] { call(f.get()); }, where);
}

bool timer_state::stop_locked() noexcept {
  GORO_DCHECK(lock.held() && (ch || call));
  const bool was_armed = armed;
  armed = false;
  if (timer_del(this)) {
    // The heap's hold; never the last one, the caller's channel holds another.
    refs.fetch_sub(1, std::memory_order_relaxed);
  } else {
    // Fires under way on other workers: wait until each has taken the lock and seen armed
    // false, so that none delivers after we return (or after a reset() rearms).
    // acquire: pairs with on_fire()'s release decrement; what that fire did is visible.
    while (firing.load(std::memory_order_acquire) != 0) {
      lock.unlock();
      unsigned spins = 0;
      spin_pause_slow(spins);
      lock.lock();
    }
  }
  time_point stale;
  const bool drained = ch && ch->try_recv(&stale) == op_result::ok;
  return was_armed || drained;
}

namespace {

timer_chan* make_timer(std::chrono::nanoseconds d, std::int64_t period) {
  ensure_started(nullptr);
  auto* s = new timer_state;
  s->fire = &timer_state::on_fire;
  timer_chan* ch;
  try {
    ch = new timer_chan(s);
  } catch (...) {
    delete s;
    throw;
  }
  s->lock.lock();
  s->arm_locked(d.count(), period);
  s->lock.unlock();
  return ch;
}

}  // namespace
}  // namespace goro::detail

namespace goro {

recv_chan<time_point> after(std::chrono::nanoseconds d) {
  return detail::adopt_chan<time_point>(detail::make_timer(d, 0));
}

namespace {
std::int64_t checked_period(std::chrono::nanoseconds period) {
  if (period.count() <= 0) throw std::invalid_argument("goro::ticker: non-positive period");
  return period.count();
}
}  // namespace

namespace detail {

timer_owner::timer_owner(std::chrono::nanoseconds first, std::int64_t period) {
  timer_chan* ch = make_timer(first, period);
  s_ = ch->state();
  c_ = adopt_chan<time_point>(ch);
}
timer_owner::timer_owner(timer_owner&& o) noexcept
    : c_(std::move(o.c_)), s_(std::exchange(o.s_, nullptr)) {}
timer_owner::timer_owner(std::chrono::nanoseconds first, std::shared_ptr<void> func,
                         void (*call)(void*), const goro::source_location& where) {
  ensure_started(nullptr);
  auto* s = new timer_state;
  s->fire = &timer_state::on_fire;
  s->func = std::move(func);
  s->call = call;
  s->where = where;
  s->lock.lock();
  try {
    s->arm_locked(first.count(), 0);
  } catch (...) {
    s->lock.unlock();
    delete s;
    throw;
  }
  s->lock.unlock();
  s_ = s;
}
timer_owner& timer_owner::operator=(timer_owner&& o) noexcept {
  if (this != &o) {
    drop();
    c_ = std::move(o.c_);
    s_ = std::exchange(o.s_, nullptr);
  }
  return *this;
}
timer_owner::~timer_owner() { drop(); }

void timer_owner::drop() noexcept {
  if (s_ && s_->call) {
    s_->release();  // after_func: the timer stays armed; only our hold goes
    s_ = nullptr;
    return;
  }
  stop_timer();
}

bool timer_owner::stop_timer() noexcept {
  if (!s_) return false;
  s_->lock.lock();
  const bool r = s_->stop_locked();
  s_->lock.unlock();
  return r;
}

bool timer_owner::rearm(std::chrono::nanoseconds first, std::int64_t period) {
  s_->lock.lock();
  const bool r = s_->stop_locked();
  s_->arm_locked(first.count(), period);
  s_->lock.unlock();
  return r;
}

}  // namespace detail

ticker::ticker(std::chrono::nanoseconds period) : timer_owner(period, checked_period(period)) {}
void ticker::reset(std::chrono::nanoseconds period) { rearm(period, checked_period(period)); }

timer::timer(std::chrono::nanoseconds d) : timer_owner(d, 0) {}
timer::timer(detail::func_tag, std::chrono::nanoseconds d, std::shared_ptr<void> func,
             void (*call)(void*), const goro::source_location& where)
    : timer_owner(d, std::move(func), call, where) {}

recv_chan<time_point> tick(std::chrono::nanoseconds d) {
  if (d.count() <= 0) return {};
  return detail::adopt_chan<time_point>(detail::make_timer(d, d.count()));
}
bool timer::reset(std::chrono::nanoseconds d) { return rearm(d, 0); }

namespace debug {
std::size_t pending_timers() noexcept { return detail::timers_pending(); }
}  // namespace debug

}  // namespace goro
