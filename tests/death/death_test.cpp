// Programs goro must end: each scenario of death_prog runs as a subprocess; the test compares
// its whole stderr (first line, blank line, every dump line) and checks exit status 2.
//
// Expected texts use placeholders: {F} is death_prog.cpp's path as the runtime prints it
// (relative to the repository root), {name} is the line number of the "@mark(name)" comment
// in death_prog.cpp.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"

extern char** environ;

namespace {

struct outcome {
  int exit_status = -1;  // -1: killed by a signal or timed out
  int signal = 0;
  bool timed_out = false;
  std::string stderr_text;
};

// Runs death_prog <scenario> with extra environment entries; bounded by `limit`.
outcome run_scenario(const std::string& scenario, const std::vector<std::string>& extra_env = {},
                     std::chrono::seconds limit = std::chrono::seconds(60)) {
  char path[] = "/tmp/goro_death_XXXXXX";
  const int err_fd = mkstemp(path);
  EXPECT_GE(err_fd, 0);
  unlink(path);

  // The inherited environment (GORO_MAXPROCS etc. of this ctest variant), with `extra_env`
  // replacing entries of the same name.
  auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  std::vector<std::string> env_strings = extra_env;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    bool overridden = false;
    for (const auto& x : extra_env) overridden = overridden || name_of(x) == name_of(entry);
    if (!overridden) env_strings.push_back(entry);
  }
  std::vector<char*> envp;
  envp.reserve(env_strings.size() + 1);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  std::string prog = GORO_DEATH_PROG;
  std::string arg = scenario;
  char* argv[] = {prog.data(), arg.data(), nullptr};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, prog.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(rc, 0) << "cannot start " << prog;

  outcome out;
  if (rc == 0) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    for (;;) {
      const pid_t done = waitpid(pid, &status, WNOHANG);
      if (done == pid) break;
      if (std::chrono::steady_clock::now() > deadline) {
        out.timed_out = true;
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a child, not ordering
    }
    if (!out.timed_out && WIFEXITED(status)) out.exit_status = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
  }
  lseek(err_fd, 0, SEEK_SET);
  char buf[4096];
  for (ssize_t n; (n = read(err_fd, buf, sizeof buf)) > 0;) out.stderr_text.append(buf, n);
  close(err_fd);
  return out;
}

// "@mark(name)" -> line number, read from death_prog.cpp.
const std::map<std::string, int>& marks() {
  static const std::map<std::string, int> table = [] {
    std::map<std::string, int> t;
    std::ifstream in(GORO_DEATH_SOURCE);
    EXPECT_TRUE(in.good()) << "cannot read " << GORO_DEATH_SOURCE;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      for (auto at = line.find("@mark("); at != std::string::npos;
           at = line.find("@mark(", at + 1)) {
        const auto start = at + 6;
        t[line.substr(start, line.find(')', start) - start)] = number;
      }
    }
    return t;
  }();
  return table;
}

std::string expand(const std::string& pattern) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size();) {
    if (pattern[i] != '{') {
      out += pattern[i++];
      continue;
    }
    const auto close = pattern.find('}', i);
    const std::string key = pattern.substr(i + 1, close - i - 1);
    if (key == "F") {
      out += GORO_DEATH_SOURCE_REL;
    } else {
      const auto it = marks().find(key);
      EXPECT_NE(it, marks().end()) << "no @mark(" << key << ") in death_prog.cpp";
      out += it == marks().end() ? "?" : std::to_string(it->second);
    }
    i = close + 1;
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// Runs `scenario` and compares its whole stderr with `expected_pattern` and its exit status.
void expect_report(const std::string& scenario, const std::string& expected_pattern,
                   int expected_status, const std::vector<std::string>& extra_env = {}) {
  SCOPED_TRACE("death_prog " + scenario);
  const outcome out = run_scenario(scenario, extra_env);
  ASSERT_FALSE(out.timed_out) << "did not end; stderr so far:\n" << out.stderr_text;
  EXPECT_EQ(out.signal, 0) << "killed by signal " << out.signal << "; stderr:\n" << out.stderr_text;
  EXPECT_EQ(out.exit_status, expected_status) << "stderr:\n" << out.stderr_text;
  const auto expected = lines_of(expand(expected_pattern));
  const auto actual = lines_of(out.stderr_text);
  ASSERT_FALSE(actual.empty()) << "nothing on stderr";
  EXPECT_EQ(actual.front(), expected.front()) << "first line";
  EXPECT_EQ(actual, expected) << "whole stderr:\n" << out.stderr_text;
}

// A program goro must end: exit status 2, like Go's fatal errors and unrecovered panics.
void expect_death(const std::string& scenario, const std::string& expected_pattern) {
  expect_report(scenario, expected_pattern, 2);
}

const char* const deadlock_header = "fatal error: all goroutines are asleep - deadlock!\n\n";

// A deadlock of run's main goroutine alone, blocked at @mark(mark) for `reason`.
std::string lone_main_deadlock(const std::string& reason, const std::string& mark) {
  return std::string(deadlock_header) + "goroutine 1 [" + reason + "]:\n\tblocked at {F}:{" + mark +
         "}\n\tcreated by goro::run at {F}:{run}\n";
}

// A panic in run's main goroutine, with no other goroutine.
std::string lone_main_panic(const std::string& text) {
  return "panic: " + text + "\n\ngoroutine 1 [running]:\n\tcreated by goro::run at {F}:{run}\n";
}

TEST(deadlock, ChanSend) {
  expect_death("deadlock_chan_send", lone_main_deadlock("chan send", "chan_send"));
}
TEST(deadlock, ChanReceive) {
  expect_death("deadlock_chan_recv", lone_main_deadlock("chan receive", "chan_recv"));
}
TEST(deadlock, Select) { expect_death("deadlock_select", lone_main_deadlock("select", "select")); }
TEST(deadlock, SelectNoCases) {
  expect_death("deadlock_select_no_cases",
               lone_main_deadlock("select (no cases)", "select_no_cases"));
}
TEST(deadlock, NilChanSend) {
  expect_death("deadlock_nil_send", lone_main_deadlock("chan send (nil chan)", "nil_send"));
}
TEST(deadlock, NilChanReceive) {
  expect_death("deadlock_nil_recv", lone_main_deadlock("chan receive (nil chan)", "nil_recv"));
}
TEST(deadlock, WaitGroup) {
  expect_death("deadlock_semacquire", lone_main_deadlock("semacquire", "semacquire"));
}
TEST(deadlock, Mutex) {
  expect_death("deadlock_mutex", lone_main_deadlock("sync.Mutex.Lock", "mutex"));
}

// Go's wider toolkit (#16): every new wait is counted as blocked and shows Go's reason.
TEST(deadlock, RWMutexLock) {
  expect_death("deadlock_rwmutex_lock", lone_main_deadlock("sync.RWMutex.Lock", "rwmutex_lock"));
}
TEST(deadlock, RWMutexRLock) {
  expect_death("deadlock_rwmutex_rlock", lone_main_deadlock("sync.RWMutex.RLock", "rwmutex_rlock"));
}
TEST(deadlock, CondWait) {
  expect_death("deadlock_cond", lone_main_deadlock("sync.Cond.Wait", "cond_wait"));
}
TEST(deadlock, OnceCalledFromItsOwnFunction) {
  expect_death("deadlock_once_recursive", lone_main_deadlock("sync.Mutex.Lock", "once_recursive"));
}

TEST(deadlock, ContextDone) {
  expect_death("deadlock_context_done", lone_main_deadlock("chan receive", "context_done"));
}
TEST(deadlock, ContextDoneInSelect) {
  expect_death("deadlock_context_select", lone_main_deadlock("select", "context_select"));
}
TEST(deadlock, Semaphore) {
  expect_death("deadlock_semaphore", lone_main_deadlock("select", "semaphore"));
}
TEST(deadlock, SemaphoreWithContext) {
  expect_death("deadlock_semaphore_ctx", lone_main_deadlock("select", "semaphore_ctx"));
}
TEST(deadlock, ErrgroupAtLimit) {
  expect_death("deadlock_errgroup_limit", lone_main_deadlock("chan send", "errgroup_limit"));
}

// Timers nobody refers to any more do not keep the detector quiet (#11): 10,000 after(1h)
// timeouts of a select loop are gone with their channels.
TEST(deadlock, AfterTimeoutsOfASelectLoopLeaveNoTimer) {
  expect_death("deadlock_after_loop", lone_main_deadlock("chan receive", "after_loop"));
}
// A timer or a sleep that can never end is no reason to wait either.
TEST(deadlock, TimerThatNeverFires) {
  expect_death("deadlock_after_never", lone_main_deadlock("chan receive", "after_never"));
}
TEST(deadlock, SleepForEver) {
  expect_death("deadlock_sleep_forever", std::string(deadlock_header) +
                                             "goroutine 1 [chan receive]:\n"
                                             "\tblocked at {F}:{sleep_forever_main}\n"
                                             "\tcreated by goro::run at {F}:{run}\n"
                                             "\n"
                                             "goroutine 2 [sleep]:\n"
                                             "\tblocked at {F}:{sleep_forever}\n"
                                             "\tcreated by goroutine 1 at {F}:{sleep_forever}\n");
}

TEST(deadlock, SeveralGoroutinesAllListed) {
  expect_death("deadlock_many", std::string(deadlock_header) +
                                    "goroutine 1 [semacquire]:\n"
                                    "\tblocked at {F}:{many_wait}\n"
                                    "\tcreated by goro::run at {F}:{run}\n"
                                    "\n"
                                    "goroutine 2 [chan send]:\n"
                                    "\tblocked at {F}:{many_go_send}\n"
                                    "\tcreated by goroutine 1 at {F}:{many_go_send}\n"
                                    "\n"
                                    "goroutine 3 [chan receive]:\n"
                                    "\tblocked at {F}:{many_go_recv}\n"
                                    "\tcreated by goroutine 1 at {F}:{many_go_recv}\n");
}

TEST(deadlock, CreatorIsTheSpawningGoroutine) {
  expect_death("deadlock_nested", std::string(deadlock_header) +
                                      "goroutine 1 [chan receive]:\n"
                                      "\tblocked at {F}:{nested_recv}\n"
                                      "\tcreated by goro::run at {F}:{run}\n"
                                      "\n"
                                      "goroutine 3 [select (no cases)]:\n"
                                      "\tblocked at {F}:{nested_go}\n"
                                      "\tcreated by goroutine 2 at {F}:{nested_go}\n");
}

TEST(panic, InMainGoroutine) { expect_death("panic_main", lone_main_panic("main boom")); }

TEST(panic, EscapingSpawnedGoroutine) {
  expect_death("panic_goroutine",
               "panic: boom\n"
               "\n"
               "goroutine 2 [running]:\n"
               "\tcreated by goroutine 1 at {F}:{panic_go}\n"
               "\n"
               "goroutine 1 [semacquire]:\n"
               "\tblocked at {F}:{panic_wait}\n"
               "\tcreated by goro::run at {F}:{run}\n");
}

TEST(panic, NonStdException) {
  expect_death("panic_int", lone_main_panic("unknown exception of type int"));
}
TEST(panic, SendOnClosedChannel) {
  expect_death("panic_send_closed", lone_main_panic("send on closed channel"));
}
TEST(panic, CloseOfClosedChannel) {
  expect_death("panic_close_closed", lone_main_panic("close of closed channel"));
}
TEST(panic, CloseOfNilChannel) {
  expect_death("panic_close_nil", lone_main_panic("close of nil channel"));
}
TEST(panic, NegativeWaitGroupCounter) {
  expect_death("panic_negative_wait_group", lone_main_panic("sync: negative WaitGroup counter"));
}

// Go's texts; Go makes these fatal errors, goro a panic_error (recoverable, like its mutex's).
TEST(panic, RWMutexUnlockOfUnlocked) {
  expect_death("panic_rwmutex_unlock", lone_main_panic("sync: Unlock of unlocked RWMutex"));
}
TEST(panic, RWMutexRUnlockOfUnlocked) {
  expect_death("panic_rwmutex_runlock", lone_main_panic("sync: RUnlock of unlocked RWMutex"));
}

TEST(panic, SemaphoreReleasedMoreThanHeld) {
  expect_death("panic_semaphore_release", lone_main_panic("semaphore: released more than held"));
}
TEST(panic, PanicErrorInErrgroupTaskEndsTheProgram) {
  expect_death("panic_errgroup_task",
               "panic: send on closed channel\n"
               "\n"
               "goroutine 2 [running]:\n"
               "\tcreated by goroutine 1 at {F}:{errgroup_task}\n"
               "\n"
               "goroutine 1 [semacquire]:\n"
               "\tblocked at {F}:{errgroup_wait}\n"
               "\tcreated by goro::run at {F}:{run}\n");
}

// A wait_group or mutex destroyed while in use: a panic, raised from the destructor (which
// cannot throw), naming the type and where it was created. The goroutine whose function
// returned (goroutine 1) is the panicking one.
TEST(panic, WaitGroupDestroyedWithCounter) {
  expect_death("wait_group_destroyed_with_counter",
               "panic: goro::wait_group destroyed with counter 2 (created at {F}:{wg_counter})\n"
               "\n"
               "goroutine 1 [running]:\n"
               "\tcreated by goro::run at {F}:{run}\n"
               "\n"
               "goroutine 2 [chan receive]:\n"
               "\tblocked at {F}:{wg_worker}\n"
               "\tcreated by goroutine 1 at {F}:{wg_worker_go}\n"
               "\n"
               "goroutine 3 [chan receive]:\n"
               "\tblocked at {F}:{wg_worker}\n"
               "\tcreated by goroutine 1 at {F}:{wg_worker_go}\n");
}

TEST(panic, WaitGroupDestroyedWithWaiters) {
  expect_death(
      "wait_group_destroyed_with_waiters",
      "panic: goro::wait_group destroyed with counter 1 and waiters (created at {F}:{wg_waited})\n"
      "\n"
      "goroutine 1 [running]:\n"
      "\tcreated by goro::run at {F}:{run}\n"
      "\n"
      "goroutine 2 [semacquire]:\n"
      "\tblocked at {F}:{wg_waiter}\n"
      "\tcreated by goroutine 1 at {F}:{wg_waiter}\n");
}

// On a plain thread the same panic; goroutine 1, in std::thread::join(), is still running.
TEST(panic, WaitGroupDestroyedOnPlainThread) {
  expect_death(
      "wait_group_destroyed_on_thread",
      lone_main_panic("goro::wait_group destroyed with counter 1 (created at {F}:{wg_thread})"));
}

TEST(panic, MutexDestroyedWhileLocked) {
  expect_death(
      "mutex_destroyed_locked",
      lone_main_panic("goro::mutex destroyed while locked (created at {F}:{mutex_locked})"));
}

TEST(panic, MutexDestroyedWhileWaitedOn) {
  expect_death("mutex_destroyed_waited_on",
               "panic: goro::mutex destroyed while locked and waited on (created at "
               "{F}:{mutex_waited})\n"
               "\n"
               "goroutine 1 [running]:\n"
               "\tcreated by goro::run at {F}:{run}\n"
               "\n"
               "goroutine 2 [sync.Mutex.Lock]:\n"
               "\tblocked at {F}:{mutex_waiter}\n"
               "\tcreated by goroutine 1 at {F}:{mutex_waiter}\n");
}

TEST(fatal, StackOverflow) {
  expect_death("stack_overflow",
               "fatal error: stack overflow\n"
               "\n"
               "goroutine 2 [running]:\n"
               "\tcreated by goroutine 1 at {F}:{overflow_go}\n"
               "\n"
               "goroutine 1 [semacquire]:\n"
               "\tblocked at {F}:{overflow_wait}\n"
               "\tcreated by goro::run at {F}:{run}\n");
}

// Past max_threads the program ends as Go's does. One processor, four threads allowed: three
// goroutines blocked for ever in blocking() take a thread each, the fourth's is one too many.
TEST(fatal, ThreadExhaustion) {
  std::string want =
      "runtime: program exceeds 4-thread limit\n"
      "fatal error: thread exhaustion\n"
      "\n"
      "goroutine 1 [runnable]:\n"
      "\tcreated by goro::run at {F}:{run}\n";
  for (int id = 2; id <= 5; id++)
    want += "\ngoroutine " + std::to_string(id) +
            " [syscall]:\n\tblocked at {F}:{exhaust_read}\n\tcreated by goroutine 1 at "
            "{F}:{exhaust_go}\n";
  expect_report("thread_exhaustion", want, 2, {"GORO_MAXPROCS=1", "GORO_MAXTHREADS=4"});
}

// A goroutine stack that cannot be mapped ends the program: Go's "runtime: out of memory".
// Not under the sanitizers, whose own allocators die first under RLIMIT_AS.
TEST(fatal, OutOfMemory) {
  if (goro_test::sanitized) GTEST_SKIP() << "RLIMIT_AS kills the sanitizer runtime first";
  expect_report("out_of_memory",
                "fatal error: runtime: out of memory\n"
                "\n"
                "goroutine 1 [runnable]:\n"
                "\tcreated by goro::run at {F}:{run}\n",
                2, {"GORO_STACK_SIZE=1073741824"});
}

TEST(fatal, SigquitDumpsAndExits) {
  expect_death("sigquit",
               "SIGQUIT: quit\n"
               "\n"
               "goroutine 1 [semacquire]:\n"
               "\tblocked at {F}:{sigquit_wait}\n"
               "\tcreated by goro::run at {F}:{run}\n"
               "\n"
               "goroutine 2 [chan receive]:\n"
               "\tblocked at {F}:{sigquit_go}\n"
               "\tcreated by goroutine 1 at {F}:{sigquit_go}\n");
}

// os::notify: once the last channel stopped, the relay thread left behind does not keep the
// detector quiet; and a channel closed while registered ends the program when its signal comes.
TEST(deadlock, WaitingForASignalNobodyWatchesAnyMore) {
  expect_death("deadlock_signal_stopped", lone_main_deadlock("chan receive", "signal_stopped"));
}
TEST(panic, SignalSentToAClosedChannel) {
  expect_death("panic_signal_closed_channel",
               "panic: send on closed channel\n"
               "\n"
               "goroutine 1 [semacquire]:\n"
               "\tblocked at {F}:{signal_closed_wait}\n"
               "\tcreated by goro::run at {F}:{run}\n");
}

// GORO_LEAKCHECK=1 reports goroutines still blocked when run returns, then lets the program
// go on (run returns normally; death_prog then prints "run returned" and exits 0).
TEST(leakcheck, BlockedGoroutineWhenRunReturns) {
  expect_report("leak",
                "goroutine leak: 1 goroutine still blocked when run returned\n"
                "\n"
                "goroutine 2 [chan receive]:\n"
                "\tblocked at {F}:{leak_go}\n"
                "\tcreated by goroutine 1 at {F}:{leak_go}\n"
                "run returned\n",
                0, {"GORO_LEAKCHECK=1"});
}

// Only blocked goroutines count: the sleeping one (goroutine 3) may still finish.
TEST(leakcheck, SeveralBlockedSleepersNotCounted) {
  expect_report("leak_several",
                "goroutine leak: 2 goroutines still blocked when run returned\n"
                "\n"
                "goroutine 2 [chan send]:\n"
                "\tblocked at {F}:{leak_several_send}\n"
                "\tcreated by goroutine 1 at {F}:{leak_several_send}\n"
                "\n"
                "goroutine 4 [sync.Mutex.Lock]:\n"
                "\tblocked at {F}:{leak_several_lock}\n"
                "\tcreated by goroutine 1 at {F}:{leak_several_lock}\n"
                "run returned\n",
                0, {"GORO_LEAKCHECK=1"});
}

// A goroutine still runnable when run returns is waited for: both walkers the Go tour's
// leaking tree comparison leaves behind are reported, although walker 3 was still running
// (about to block on its next send) at that moment.
TEST(leakcheck, RunnableGoroutineCountedOnceBlocked) {
  expect_report("leak_walkers",
                "goroutine leak: 2 goroutines still blocked when run returned\n"
                "\n"
                "goroutine 2 [chan send]:\n"
                "\tblocked at {F}:{walker_send}\n"
                "\tcreated by goroutine 1 at {F}:{walker_a}\n"
                "\n"
                "goroutine 3 [chan send]:\n"
                "\tblocked at {F}:{walker_send}\n"
                "\tcreated by goroutine 1 at {F}:{walker_b}\n"
                "run returned\n",
                0, {"GORO_LEAKCHECK=1"});
}

// A correct program whose closer is still on its way to close() when run returns, with the
// goroutines that close() releases still blocked: they all finish, and nothing is reported.
TEST(leakcheck, CloserStillFinishingIsNoLeak) {
  expect_report("closer_finishing", "run returned\n", 0, {"GORO_LEAKCHECK=1"});
}

// A goroutine that never blocks is reported apart, once the check stops waiting for it.
TEST(leakcheck, StillRunningReportedSeparately) {
  expect_report("leak_running",
                "goroutine leak: 1 goroutine still blocked when run returned\n"
                "\n"
                "goroutine 2 [chan receive]:\n"
                "\tblocked at {F}:{running_blocked}\n"
                "\tcreated by goroutine 1 at {F}:{running_blocked}\n"
                "\n"
                "goroutine leak: 1 goroutine still running 1000 ms after run returned\n"
                "\n"
                "goroutine 3 [running]:\n"
                "\tcreated by goroutine 1 at {F}:{running_go}\n"
                "run returned\n",
                0, {"GORO_LEAKCHECK=1"});
}

// Without GORO_LEAKCHECK the same program is fine: run returns and the process exits 0.
TEST(leakcheck, OffByDefault) {
  const outcome out = run_scenario("leak", {"GORO_LEAKCHECK=0"});
  EXPECT_EQ(out.exit_status, 0) << out.stderr_text;
  EXPECT_EQ(out.stderr_text, "run returned\n");
}

TEST(death_prog, UnknownScenarioIsUsageError) {
  const outcome out = run_scenario("no_such_scenario");
  EXPECT_EQ(out.exit_status, 64);
}

}  // namespace
