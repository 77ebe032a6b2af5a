// death_prog <scenario>: runs one program that goro must end with a diagnostic (deadlock,
// panic, a wait_group or mutex destroyed in use, stack overflow, SIGQUIT dump), or whose leak
// report (GORO_LEAKCHECK=1) is checked. tests/death/death_test.cpp runs it as a subprocess and
// compares stderr and the exit status.
//
// Lines the expected dumps refer to carry a "@mark(name)" comment; the test finds their
// numbers by reading this file, so editing it never silently breaks an expectation. Keep each
// marked call on one line: compilers disagree on which line of a multi-line call
// goro::source_location reports.
#include <stdio.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <goro/goro.hpp>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

// True when goro::dump() shows goroutine `id` parked for `reason` (Go's words). Scenarios whose
// dump shows more than one goroutine use this to reach a deterministic state before dying: a
// goroutine seen blocked here stays blocked, since nothing in the scenario will wake it.
bool dump_shows(std::uint64_t id, const std::string& reason) {
  char* buf = nullptr;
  std::size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  if (!f) std::abort();
  goro::dump(f);
  std::fclose(f);
  const std::string text(buf, len);
  std::free(buf);
  return text.find("goroutine " + std::to_string(id) + " [" + reason + "]:") != std::string::npos;
}

void wait_until_blocked(std::uint64_t id, const std::string& reason) {
  while (!dump_shows(id, reason)) goro::yield();
}

// ---- deadlocks: one per wait reason -------------------------------------------------------

void deadlock_chan_send() {
  auto ch = goro::make_chan<int>();
  ch.send(1);  // @mark(chan_send)
}

void deadlock_chan_recv() {
  auto ch = goro::make_chan<int>(4);
  ch.recv();  // @mark(chan_recv)
}

void deadlock_select() {
  auto a = goro::make_chan<int>();
  auto b = goro::make_chan<int>();
  goro::select(goro::on_recv(a, [] {}), goro::on_send(b, 1));  // @mark(select)
}

void deadlock_select_no_cases() {
  goro::select();  // @mark(select_no_cases)
}

void deadlock_nil_send() {
  goro::chan<int> nil;
  nil.send(1);  // @mark(nil_send)
}

void deadlock_nil_recv() {
  goro::chan<int> nil;
  nil.recv();  // @mark(nil_recv)
}

void deadlock_semacquire() {
  goro::wait_group wg;
  wg.add(1);
  wg.wait();  // @mark(semacquire)
}

void deadlock_mutex() {
  goro::mutex m;
  m.lock();
  m.lock();  // @mark(mutex)
}

// A select loop with an after(1h) timeout case, ten thousand times: each timer goes with its
// select's temporary channel, so none is left to keep the detector quiet when main then
// blocks for good.
void deadlock_after_loop() {
  auto ch = goro::make_chan<int>(1);
  int sum = 0;
  for (int i = 0; i < 10000; i++) {
    ch.send(i);
    goro::select(goro::on_recv(ch, [&](std::optional<int> v) { sum += *v; }),
                 goro::on_recv(goro::after(std::chrono::hours(1)), [] { std::abort(); }));
  }
  if (sum != 10000 * 9999 / 2) std::abort();
  ch.recv();  // @mark(after_loop)
}

// A timer too long to represent never fires, and a channel only it could fill is a deadlock
// (Go would hang: its timer heap holds the timer for 292 years).
void deadlock_after_never() {
  goro::after(std::chrono::nanoseconds::max()).recv();  // @mark(after_never)
}

// A sleep for ever (nanoseconds::max()) counts as blocked too: with main blocked on a
// channel, the program is reported, the sleeper listed as [sleep].
void deadlock_sleep_forever() {
  goro::go([] { goro::sleep_for(std::chrono::nanoseconds::max()); });  // @mark(sleep_forever)
  wait_until_blocked(2, "sleep");
  goro::make_chan<int>().recv();  // @mark(sleep_forever_main)
}

// Several goroutines, each blocked differently; the dump lists them all.
void deadlock_many() {
  auto a = goro::make_chan<int>();
  auto b = goro::make_chan<int>();
  goro::go([b] { b.send(1); });  // @mark(many_go_send)
  goro::go([a] { a.recv(); });   // @mark(many_go_recv)
  goro::wait_group wg;
  wg.add(1);
  wg.wait();  // @mark(many_wait)
}

// A goroutine spawned by a goroutine spawned by main: "created by goroutine 2".
void deadlock_nested() {
  goro::go([] { goro::go([] { goro::select(); }); });  // @mark(nested_go)
  auto never = goro::make_chan<goro::signal>();
  never.recv();  // @mark(nested_recv)
}

// ---- panics ----------------------------------------------------------------------------------

void panic_main() { throw std::runtime_error("main boom"); }

// An exception escaping a spawned goroutine while main is parked.
void throw_boom_once_main_waits() {
  wait_until_blocked(1, "semacquire");
  throw std::runtime_error("boom");
}

void panic_goroutine() {
  goro::wait_group wg;
  wg.add(1);
  goro::go([] { throw_boom_once_main_waits(); });  // @mark(panic_go)
  wg.wait();                                       // @mark(panic_wait)
}

void panic_int() { throw 42; }

void panic_send_closed() {
  auto ch = goro::make_chan<int>(1);
  ch.close();
  ch.send(1);
}

void panic_close_closed() {
  auto ch = goro::make_chan<int>();
  ch.close();
  ch.close();
}

void panic_close_nil() {
  goro::chan<int> nil;
  nil.close();
}

void panic_negative_wait_group() {
  goro::wait_group wg;
  wg.done();
}

// ---- a wait_group or mutex destroyed in use ----------------------------------------------------

// Go's closure over a local WaitGroup, ported literally: start_workers() returns without
// waiting, and its wait_group dies while the workers it started still count on it.
void work(goro::wait_group& wg, goro::chan<int> jobs) {
  jobs.recv();  // @mark(wg_worker)
  wg.done();
}

void start_workers(goro::chan<int> jobs) {
  goro::wait_group wg;  // @mark(wg_counter)
  for (int i = 0; i < 2; ++i) {
    wg.add(1);
    goro::go([&wg, jobs] { work(wg, jobs); });  // @mark(wg_worker_go)
  }
  wait_until_blocked(2, "chan receive");
  wait_until_blocked(3, "chan receive");
}

void wait_group_destroyed_with_counter() { start_workers(goro::make_chan<int>()); }

// The same mistake the other way round: the goroutine waits on a wait_group that its creator
// owns, and the creator returns.
void start_waiter() {
  goro::wait_group wg;  // @mark(wg_waited)
  wg.add(1);
  goro::go([&wg] { wg.wait(); });  // @mark(wg_waiter)
  wait_until_blocked(2, "semacquire");
}

void wait_group_destroyed_with_waiters() { start_waiter(); }

// Destroyed on a plain thread: the dump has no panicking goroutine to put first.
void wait_group_destroyed_on_thread() {
  std::thread([] {
    goro::wait_group wg;  // @mark(wg_thread)
    wg.add(1);
  }).join();
}

void mutex_destroyed_locked() {
  goro::mutex m;  // @mark(mutex_locked)
  m.lock();
}

void mutex_destroyed_waited_on() {
  goro::mutex m;  // @mark(mutex_waited)
  m.lock();
  goro::go([&m] { m.lock(); });  // @mark(mutex_waiter)
  wait_until_blocked(2, "sync.Mutex.Lock");
}

// ---- fatal errors ------------------------------------------------------------------------------

volatile bool keep_recursing = true;  // volatile: the recursion must look like it can end

int recurse(int depth) {
  volatile char frame[512];
  frame[0] = static_cast<char>(depth);
  if (!keep_recursing) return frame[0];
  return recurse(depth + 1) + frame[0];  // not a tail call: every level keeps its frame
}

void overflow_once_main_waits() {
  wait_until_blocked(1, "semacquire");
  recurse(0);
}

void stack_overflow() {
  goro::wait_group wg;
  wg.add(1);
  goro::go([] { overflow_once_main_waits(); });  // @mark(overflow_go)
  wg.wait();                                     // @mark(overflow_wait)
}

// SIGQUIT from a plain thread while goroutines are blocked: the runtime dumps every goroutine
// and exits with status 2, like Go.
void sigquit() {
  auto ch = goro::make_chan<int>();
  goro::go([ch] { ch.recv(); });  // @mark(sigquit_go)
  std::thread([] {
    wait_until_blocked(1, "semacquire");
    wait_until_blocked(2, "chan receive");
    std::raise(SIGQUIT);
  }).detach();
  goro::wait_group wg;
  wg.add(1);
  wg.wait();  // @mark(sigquit_wait)
}

// A channel that watched SIGUSR1 and stopped: the relay thread is still there, but no signal
// can wake the goroutine waiting on the channel any more, so that is a deadlock.
void deadlock_signal_stopped() {
  auto ch = goro::make_chan<int>(1);
  goro::os::notify(ch, {SIGUSR1});
  goro::os::stop(ch);
  ch.recv();  // @mark(signal_stopped)
}

// A channel closed while registered for SIGUSR1: the relay's send panics when the signal comes,
// as Go's signal loop does.
void panic_signal_closed_channel() {
  auto ch = goro::make_chan<int>(1);
  goro::os::notify(ch, {SIGUSR1});
  ch.close();
  std::thread([] {
    wait_until_blocked(1, "semacquire");
    std::raise(SIGUSR1);
  }).detach();
  goro::wait_group wg;
  wg.add(1);
  wg.wait();  // @mark(signal_closed_wait)
}

// With GORO_LEAKCHECK=1: run returns while a goroutine is still blocked.
void leak() {
  auto ch = goro::make_chan<int>();
  goro::go([ch] { ch.recv(); });  // @mark(leak_go)
  wait_until_blocked(2, "chan receive");
}

// Two goroutines blocked (a send, a lock) and one asleep when run returns. The mutex is never
// destroyed: it is still locked when the process exits, and destroying it would be a panic.
goro::mutex& leaked_mutex = *new goro::mutex;
void leak_several() {
  auto ch = goro::make_chan<int>();
  goro::go([ch] { ch.send(1); });  // @mark(leak_several_send)
  goro::go([] { goro::sleep_for(std::chrono::hours(1)); });
  leaked_mutex.lock();
  goro::go([] { leaked_mutex.lock(); });  // @mark(leak_several_lock)
  wait_until_blocked(2, "chan send");
  wait_until_blocked(3, "sleep");
  wait_until_blocked(4, "sync.Mutex.Lock");
}

// Keeps the calling goroutine busy (running or runnable, never blocked) for about `d`. The
// leak scenarios below use it so that a goroutine is still running when run returns; what they
// expect does not depend on the time, which is far below the leak check's wait (1 s).
void keep_running_for(std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) goro::yield();
}

// A walker of the Go tour's equivalent-binary-trees exercise, on the tree {1, second, ...}.
// `linger`: once `second` is taken, it keeps running a while before it sends the next value.
void walker(goro::chan<int> ch, int second, bool linger) {
  ch.send(1);
  ch.send(second);
  if (linger) keep_running_for(std::chrono::milliseconds(50));
  ch.send(second + 1);  // @mark(walker_send)
}

// The tour's leaking Same(): it returns at the first difference and leaves both walkers
// behind. When run returns, walker 2 is blocked on its next send, while walker 3, woken by the
// last receive, is still running; it blocks on its next send a little later.
void leak_walkers() {
  auto a = goro::make_chan<int>();
  auto b = goro::make_chan<int>();
  goro::go(walker, a, 2, false);  // @mark(walker_a)
  goro::go(walker, b, 3, true);   // @mark(walker_b)
  while (a.recv() == b.recv()) {
  }
}

// A correct program: main hands its last job to a closer and returns. The closer is still
// finishing (on its way to close `quit`, which releases 200 listeners, more than close() wakes
// in one batch) when run returns, and the listeners are still blocked: nothing leaks.
void closer_finishing() {
  auto quit = goro::make_chan<goro::signal>();
  auto job = goro::make_chan<int>();
  for (int i = 0; i < 200; ++i) goro::go([quit] { quit.recv(); });
  goro::go([quit, job]() mutable {
    job.recv();
    keep_running_for(std::chrono::milliseconds(50));
    quit.close();
  });
  job.send(1);
}

// One goroutine left blocked and one that never blocks: it is still running when the leak
// check stops waiting, and stops only once death_prog's main sees run return.
std::atomic<bool> run_returned{false};
void spin_until_run_returns() {
  while (!run_returned.load()) std::this_thread::yield();  // yields the thread: no park
}

void leak_running() {
  auto never = goro::make_chan<int>();
  goro::go([never] { never.recv(); });  // @mark(running_blocked)
  wait_until_blocked(2, "chan receive");
  goro::go([] { spin_until_run_returns(); });  // @mark(running_go)
}

const std::map<std::string, void (*)()> scenarios = {
    {"deadlock_chan_send", deadlock_chan_send},
    {"deadlock_chan_recv", deadlock_chan_recv},
    {"deadlock_select", deadlock_select},
    {"deadlock_select_no_cases", deadlock_select_no_cases},
    {"deadlock_nil_send", deadlock_nil_send},
    {"deadlock_nil_recv", deadlock_nil_recv},
    {"deadlock_semacquire", deadlock_semacquire},
    {"deadlock_mutex", deadlock_mutex},
    {"deadlock_many", deadlock_many},
    {"deadlock_after_loop", deadlock_after_loop},
    {"deadlock_after_never", deadlock_after_never},
    {"deadlock_sleep_forever", deadlock_sleep_forever},
    {"deadlock_nested", deadlock_nested},
    {"panic_main", panic_main},
    {"panic_goroutine", panic_goroutine},
    {"panic_int", panic_int},
    {"panic_send_closed", panic_send_closed},
    {"panic_close_closed", panic_close_closed},
    {"panic_close_nil", panic_close_nil},
    {"panic_negative_wait_group", panic_negative_wait_group},
    {"wait_group_destroyed_with_counter", wait_group_destroyed_with_counter},
    {"wait_group_destroyed_with_waiters", wait_group_destroyed_with_waiters},
    {"wait_group_destroyed_on_thread", wait_group_destroyed_on_thread},
    {"mutex_destroyed_locked", mutex_destroyed_locked},
    {"mutex_destroyed_waited_on", mutex_destroyed_waited_on},
    {"stack_overflow", stack_overflow},
    {"sigquit", sigquit},
    {"deadlock_signal_stopped", deadlock_signal_stopped},
    {"panic_signal_closed_channel", panic_signal_closed_channel},
    {"leak", leak},
    {"leak_several", leak_several},
    {"leak_walkers", leak_walkers},
    {"closer_finishing", closer_finishing},
    {"leak_running", leak_running},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || !scenarios.count(argv[1])) {
    std::fprintf(stderr, "usage: death_prog <scenario>\n");
    return 64;
  }
  const auto scenario = scenarios.at(argv[1]);
  goro::run(scenario);  // @mark(run)
  // Only the leak-check scenarios get here (and only if the runtime lets them).
  run_returned.store(true);
  std::fprintf(stderr, "run returned\n");
  return 0;
}
