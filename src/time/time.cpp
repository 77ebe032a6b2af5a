// after, ticker and timer: a channel of capacity 1 fed by a runtime timer.
//
// Invariants (timer_state::lock guards armed, period and the channel's "stale" contents):
//  - armed is true while a value from the current arming may still be sent.
//  - refs counts the user's handle (if any) and the heap's hold while the timer is in the heap
//    or firing; the last release frees the state.
//  - stop/reset clear armed, remove the timer from the heap, wait out a fire already in flight,
//    then drain the channel: no value from before the call can be received after it (Go 1.23).
#include "goro/time.hpp"

#include <stdexcept>

#include "sched/sched.hpp"
#include "time/timers.hpp"

namespace goro::detail {

struct timer_state : rtimer {
  spinlock lock;
  chan<time_point> ch = make_chan<time_point>(1);
  std::int64_t period = 0;  // 0: one-shot
  bool armed = false;
  std::atomic<int> refs{1};

  void release() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  static void on_fire(rtimer* r, std::int64_t now) {
    auto* s = static_cast<timer_state*>(r);
    bool rearmed = false;
    s->lock.lock();
    if (s->armed) {
      time_point tp{std::chrono::nanoseconds(now)};
      s->ch.try_send(tp);  // a slow receiver misses ticks, as in Go
      if (s->period > 0) {
        s->when += s->period;
        if (s->when <= now) s->when = now + s->period;
        timer_add(s);
        rearmed = true;
      } else {
        s->armed = false;
      }
    }
    s->firing.store(false, std::memory_order_release);
    s->lock.unlock();
    if (!rearmed) s->release();
  }

  // lock held. Returns whether a value of the current arming was still undelivered.
  bool stop_locked() noexcept {
    bool was_armed = armed;
    armed = false;
    bool pending = timer_del(this);
    if (pending) {
      refs.fetch_sub(1, std::memory_order_relaxed);  // the heap's hold; the user still has one
    } else {
      while (firing.load(std::memory_order_acquire)) {  // a fire in flight on another worker
        lock.unlock();
        unsigned spins = 0;
        spin_pause_slow(spins);
        lock.lock();
      }
    }
    time_point stale;
    bool drained = ch.try_recv(stale) == status::ok;
    return was_armed && (pending || drained);
  }

  void arm_locked(std::int64_t d, std::int64_t period_ns) {
    armed = true;
    period = period_ns;
    when = now_ns() + (d > 0 ? d : 0);
    refs.fetch_add(1, std::memory_order_relaxed);
    timer_add(this);
  }
};

void timer_state_deleter::operator()(timer_state* s) const noexcept {
  s->lock.lock();
  s->stop_locked();
  s->lock.unlock();
  s->release();
}

namespace {
timer_ptr make_timer(std::chrono::nanoseconds d, std::int64_t period) {
  ensure_started(nullptr);
  timer_ptr s(new timer_state);
  s->fire = &timer_state::on_fire;
  s->lock.lock();
  s->arm_locked(d.count(), period);
  s->lock.unlock();
  return s;
}
}  // namespace

}  // namespace goro::detail

namespace goro {

recv_chan<time_point> after(std::chrono::nanoseconds d) {
  detail::timer_ptr s = detail::make_timer(d, 0);
  recv_chan<time_point> c = s->ch;
  s.release()->release();  // drop the user's hold; the heap's keeps it alive until it fires
  return c;
}

ticker::ticker(std::chrono::nanoseconds period) {
  if (period.count() <= 0) throw std::invalid_argument("goro::ticker: non-positive period");
  s_ = detail::make_timer(period, period.count());
}
recv_chan<time_point> ticker::c() const { return s_->ch; }
void ticker::stop() noexcept {
  s_->lock.lock();
  s_->stop_locked();
  s_->lock.unlock();
}
void ticker::reset(std::chrono::nanoseconds period) {
  if (period.count() <= 0) throw std::invalid_argument("goro::ticker: non-positive period");
  s_->lock.lock();
  s_->stop_locked();
  s_->arm_locked(period.count(), period.count());
  s_->lock.unlock();
}

timer::timer(std::chrono::nanoseconds d) : s_(detail::make_timer(d, 0)) {}
recv_chan<time_point> timer::c() const { return s_->ch; }
bool timer::stop() noexcept {
  s_->lock.lock();
  bool r = s_->stop_locked();
  s_->lock.unlock();
  return r;
}
bool timer::reset(std::chrono::nanoseconds d) {
  s_->lock.lock();
  bool r = s_->stop_locked();
  s_->arm_locked(d.count(), 0);
  s_->lock.unlock();
  return r;
}

}  // namespace goro
