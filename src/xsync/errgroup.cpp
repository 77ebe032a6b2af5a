// errgroup: x/sync's Group on wait_group, a channel of tokens for the limit, and a context.
//
// Invariants: wg_ counts started tasks that have not ended; sem_ (when not nil) holds one
// token per such task, taken before wg_.add and given back before wg_.done, so a task's last
// touch of the group is wg_.done(); err_ is written once, by the task whose exchange on
// failed_ found false, before its wg_.done(), so wait() (after wg_.wait()) reads it safely.
#include "goro/errgroup.hpp"

#include <string>

namespace goro {

errgroup::errgroup(goro::source_location created) : wg_(created) {}

errgroup::errgroup(const context& parent, goro::source_location created) : wg_(created) {
  auto [c, cancel] = with_cancel_cause(parent);
  ctx_ = std::move(c);
  cancel_ = std::move(cancel);
}

void errgroup::fail(std::exception_ptr e) noexcept {
  // acq_rel: one winner; the rest see it and keep their errors to themselves.
  if (failed_.exchange(true, std::memory_order_acq_rel)) return;
  err_ = std::move(e);
  cancel_(err_);
}

void errgroup::task_done() noexcept {
  if (sem_) {
    signal token;
    sem_.try_recv(token);  // ours is there: taken before the task started
  }
  wg_.done();
}

void errgroup::untake() noexcept { task_done(); }

void errgroup::set_limit(int n) {
  if (n < 0) {
    sem_ = {};
    return;
  }
  if (const std::size_t active = sem_.size(); active != 0)
    throw panic_error("errgroup: modify limit while " + std::to_string(active) +
                      " goroutines in the group are still active");
  sem_ = make_chan<signal>(static_cast<std::size_t>(n));
}

void errgroup::wait(goro::source_location where) {
  wg_.wait(where);
  cancel_(err_);  // Go: cancelled with the group's error as its cause (none: canceled)
  if (err_) std::rethrow_exception(err_);
}

}  // namespace goro
