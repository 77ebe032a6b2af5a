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
#include <sys/resource.h>
#include <unistd.h>

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

// Each scenario below that misuses a mutex on purpose (locks it twice, or leaves it locked) is
// exempt from clang's thread-safety analysis, which would rightly refuse it.
GORO_NO_THREAD_SAFETY_ANALYSIS void deadlock_mutex() {
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

// Go's wider toolkit (#16): each wait has Go's reason in the dump.
void deadlock_rwmutex_lock() {
  goro::rwmutex m;
  m.lock_shared();
  m.lock();  // @mark(rwmutex_lock)
}

void deadlock_rwmutex_rlock() {
  goro::rwmutex m;
  m.lock();
  m.lock_shared();  // @mark(rwmutex_rlock)
}

GORO_NO_THREAD_SAFETY_ANALYSIS void deadlock_cond() {
  goro::mutex m;
  goro::cond c(m);
  m.lock();
  c.wait();  // @mark(cond_wait)
}

// Go's Once.Do called from inside its own f: the inner call waits for the outer one.
void deadlock_once_recursive() {
  goro::once o;
  o.call([&] { o.call([] {}); });  // @mark(once_recursive)
}

// Waiting for a context nobody will cancel: [chan receive] alone, [select] in a select, as Go.
void deadlock_context_done() {
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  ctx.done().recv();  // @mark(context_done)
}

void deadlock_context_select() {
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  auto d = ctx.done();
  auto n = goro::make_chan<int>();
  goro::select(goro::on_recv(d, [] {}), goro::on_recv(n, [] {}));  // @mark(context_select)
}

// x/sync's semaphore waits in a select, with or without a context.
void deadlock_semaphore() {
  goro::semaphore s(2);
  s.acquire(2);
  s.acquire(1);  // @mark(semaphore)
}

void deadlock_semaphore_ctx() {
  goro::semaphore s(2);
  s.acquire(2);
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  s.acquire(ctx, 1);  // @mark(semaphore_ctx)
}

// errgroup: go() at a limit of 0 blocks for ever on the limit's channel.
void deadlock_errgroup_limit() {
  goro::errgroup g;
  g.set_limit(0);
  g.go([] {});  // @mark(errgroup_limit)
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

void panic_rwmutex_unlock() {
  goro::rwmutex m;
  m.unlock();
}

void panic_rwmutex_runlock() {
  goro::rwmutex m;
  m.unlock_shared();
}

void panic_semaphore_release() {
  goro::semaphore s(3);
  s.acquire(2);
  s.release(3);
}

// A goro::panic_error in an errgroup task is a panic, not the group's failure: the program
// ends, its task listed as the panicking goroutine and main waiting in wait().
void panic_errgroup_task() {
  goro::errgroup g;
  g.go([] {  // @mark(errgroup_task)
    wait_until_blocked(1, "semacquire");
    auto ch = goro::make_chan<int>(1);
    ch.close();
    ch.send(1);
  });
  g.wait();  // @mark(errgroup_wait)
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

GORO_NO_THREAD_SAFETY_ANALYSIS void mutex_destroyed_locked() {
  goro::mutex m;  // @mark(mutex_locked)
  m.lock();
}

GORO_NO_THREAD_SAFETY_ANALYSIS void mutex_destroyed_waited_on() {
  goro::mutex m;  // @mark(mutex_waited)
  m.lock();
  goro::go([&m]() GORO_NO_THREAD_SAFETY_ANALYSIS { m.lock(); });  // @mark(mutex_waiter)
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

// ---- the OS boundary ----------------------------------------------------------------------

// Run with GORO_MAXPROCS=1 and GORO_MAXTHREADS=4: every goroutine blocks for ever in a read
// inside goro::blocking(), so each one's processor goes to a new thread, until the limit.
// Each is seen in [syscall] before the next starts, so the dump is the same every time.
void thread_exhaustion() {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  const int r = fds[0];
  auto reader = [r] {
    char c;
    goro::blocking([&] { return read(r, &c, 1); });  // @mark(exhaust_read)
  };
  for (std::uint64_t id = 2;; id++) {
    goro::go(reader);  // @mark(exhaust_go)
    wait_until_blocked(id, "syscall");
  }
}

// Run with GORO_STACK_SIZE=1 GiB: main() caps the address space before goro::run, so the main
// goroutine's stack cannot be mapped (the scenario itself never runs).
void cap_address_space() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) pages = 0;
    std::fclose(f);
  }
  rlimit lim{};
  getrlimit(RLIMIT_AS, &lim);
  // Room for the runtime's threads and the report, far below one stack.
  lim.rlim_cur =
      static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) + (256u << 20);
  if (setrlimit(RLIMIT_AS, &lim) != 0) std::abort();
}
void out_of_memory() { std::abort(); }  // never reached

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
GORO_NO_THREAD_SAFETY_ANALYSIS void leak_several() {
  auto ch = goro::make_chan<int>();
  goro::go([ch] { ch.send(1); });  // @mark(leak_several_send)
  goro::go([] { goro::sleep_for(std::chrono::hours(1)); });
  goro::mutex& m = leaked_mutex;
  m.lock();
  goro::go([&m]() GORO_NO_THREAD_SAFETY_ANALYSIS { m.lock(); });  // @mark(leak_several_lock)
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
    {"deadlock_rwmutex_lock", deadlock_rwmutex_lock},
    {"deadlock_rwmutex_rlock", deadlock_rwmutex_rlock},
    {"deadlock_cond", deadlock_cond},
    {"deadlock_once_recursive", deadlock_once_recursive},
    {"deadlock_context_done", deadlock_context_done},
    {"deadlock_context_select", deadlock_context_select},
    {"deadlock_semaphore", deadlock_semaphore},
    {"deadlock_semaphore_ctx", deadlock_semaphore_ctx},
    {"deadlock_errgroup_limit", deadlock_errgroup_limit},
    {"panic_main", panic_main},
    {"panic_goroutine", panic_goroutine},
    {"panic_int", panic_int},
    {"panic_send_closed", panic_send_closed},
    {"panic_close_closed", panic_close_closed},
    {"panic_close_nil", panic_close_nil},
    {"panic_negative_wait_group", panic_negative_wait_group},
    {"panic_rwmutex_unlock", panic_rwmutex_unlock},
    {"panic_rwmutex_runlock", panic_rwmutex_runlock},
    {"panic_semaphore_release", panic_semaphore_release},
    {"panic_errgroup_task", panic_errgroup_task},
    {"wait_group_destroyed_with_counter", wait_group_destroyed_with_counter},
    {"wait_group_destroyed_with_waiters", wait_group_destroyed_with_waiters},
    {"wait_group_destroyed_on_thread", wait_group_destroyed_on_thread},
    {"mutex_destroyed_locked", mutex_destroyed_locked},
    {"mutex_destroyed_waited_on", mutex_destroyed_waited_on},
    {"stack_overflow", stack_overflow},
    {"thread_exhaustion", thread_exhaustion},
    {"out_of_memory", out_of_memory},
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
  if (std::string(argv[1]) == "out_of_memory") cap_address_space();
  goro::run(scenario);  // @mark(run)
  // Only the leak-check scenarios get here (and only if the runtime lets them).
  run_returned.store(true);
  std::fprintf(stderr, "run returned\n");
  return 0;
}
