// goro::os::notify and goro::os::stop (goro/os.hpp): signals delivered as channel sends.
//
// Every signal here is raised by the test itself (raise(), which the kernel delivers to the
// calling thread before it returns, or kill() to the process), and a receive waits for it:
// no sleep orders anything. Where a test must know that the relay is done with a signal it
// dropped or did not send, it calls stop(): once stop returns, the relay's pass is over.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "test_util.hpp"

extern char** environ;

namespace {

using goro_test::panic_text;
using os_test = goro_test::runtime_test;

// The handler the process has for sig now.
void (*handler_of(int sig))(int) {
  struct sigaction sa {};
  sigaction(sig, nullptr, &sa);
  return sa.sa_handler;
}

TEST_F(os_test, RaisedSignalArrivesOnTheChannel) {
  goro::run([] {
    auto ch = goro::make_chan<int>(1);
    goro::os::notify(ch, {SIGUSR1});
    raise(SIGUSR1);
    EXPECT_EQ(ch.recv(), SIGUSR1);
    goro::os::stop(ch);
  });
}

// kill() targets the process, so the kernel picks any thread that does not block it (a worker
// running goroutines, this plain thread); the relay sends it wherever it was caught.
TEST_F(os_test, SignalToTheProcessFromAPlainThread) {
  goro::run([] {
    auto ch = goro::make_chan<int>(1);
    goro::os::notify(ch, {SIGUSR2});
    std::thread([] { kill(getpid(), SIGUSR2); }).join();
    EXPECT_EQ(ch.recv(), SIGUSR2);
    goro::os::stop(ch);
  });
}

TEST_F(os_test, EveryChannelWatchingTheSignalGetsIt) {
  goro::run([] {
    auto a = goro::make_chan<int>(1);
    auto b = goro::make_chan<int>(1);
    goro::os::notify(a, {SIGUSR1});
    goro::os::notify(b, {SIGUSR1, SIGUSR2});
    raise(SIGUSR1);
    EXPECT_EQ(a.recv(), SIGUSR1);
    EXPECT_EQ(b.recv(), SIGUSR1);
    goro::os::stop(a);
    goro::os::stop(b);
  });
}

// A second notify for the same channel adds signals to it.
TEST_F(os_test, NotifyAgainAddsSignals) {
  goro::run([] {
    auto ch = goro::make_chan<int>(2);
    goro::os::notify(ch, {SIGUSR1});
    goro::os::notify(ch, {SIGUSR2, SIGUSR1});
    raise(SIGUSR1);
    const int first = *ch.recv();
    raise(SIGUSR2);
    const int second = *ch.recv();
    EXPECT_EQ(std::set<int>({first, second}), std::set<int>({SIGUSR1, SIGUSR2}));
    goro::os::stop(ch);
  });
}

// As in Go, the relay never blocks on a channel: a full one misses the signal, and the other
// channels still get theirs.
TEST_F(os_test, FullChannelDropsTheSignalWithoutBlocking) {
  goro::run([] {
    auto full = goro::make_chan<int>(1);
    auto open = goro::make_chan<int>(1);
    ASSERT_EQ(full.try_send(-1), goro::status::ok);
    goro::os::notify(full, {SIGUSR1});
    goro::os::notify(open, {SIGUSR1});
    raise(SIGUSR1);
    EXPECT_EQ(open.recv(), SIGUSR1);
    goro::os::stop(full);  // the relay's pass over SIGUSR1 has ended
    EXPECT_EQ(full.size(), 1u);
    EXPECT_EQ(full.recv(), -1);
    goro::os::stop(open);
  });
}

// An unbuffered channel with nobody receiving is full too.
TEST_F(os_test, UnbufferedChannelWithoutReceiverMissesIt) {
  goro::run([] {
    auto unbuffered = goro::make_chan<int>();
    auto witness = goro::make_chan<int>(1);
    goro::os::notify(unbuffered, {SIGUSR2});
    goro::os::notify(witness, {SIGUSR2});
    raise(SIGUSR2);
    EXPECT_EQ(witness.recv(), SIGUSR2);
    goro::os::stop(unbuffered);
    int v = 0;
    EXPECT_EQ(unbuffered.try_recv(v), goro::status::not_ready);
    goro::os::stop(witness);
  });
}

TEST_F(os_test, StoppedChannelGetsNoMoreSignals) {
  goro::run([] {
    auto stopped = goro::make_chan<int>(1);
    auto still = goro::make_chan<int>(1);
    goro::os::notify(stopped, {SIGUSR1});
    goro::os::notify(still, {SIGUSR1});
    goro::os::stop(stopped);
    raise(SIGUSR1);
    EXPECT_EQ(still.recv(), SIGUSR1);
    goro::os::stop(still);  // the relay's pass is over: nothing went to `stopped`
    EXPECT_EQ(stopped.size(), 0u);
  });
}

// Go's Stop: a signal that reached the process before stop() is sent, not lost.
TEST_F(os_test, SignalCaughtBeforeStopIsStillSent) {
  goro::run([] {
    auto ch = goro::make_chan<int>(1);
    goro::os::notify(ch, {SIGUSR2});
    raise(SIGUSR2);  // its handler has run when raise returns
    goro::os::stop(ch);
    EXPECT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch.recv(), SIGUSR2);
  });
}

// The last stop() for a signal gives back the disposition it had: the default (SIGWINCH's is
// to ignore it, so raising it afterwards is harmless), or the program's own handler.
std::atomic<int> own_handler_calls{0};
void own_handler(int) { own_handler_calls.fetch_add(1); }

TEST_F(os_test, LastStopRestoresTheDefaultDisposition) {
  goro::run([] {
    ASSERT_EQ(handler_of(SIGWINCH), SIG_DFL);
    auto a = goro::make_chan<int>(1);
    auto b = goro::make_chan<int>(1);
    goro::os::notify(a, {SIGWINCH});
    goro::os::notify(b, {SIGWINCH});
    EXPECT_NE(handler_of(SIGWINCH), SIG_DFL);
    goro::os::stop(a);
    EXPECT_NE(handler_of(SIGWINCH), SIG_DFL) << "b still watches SIGWINCH";
    goro::os::stop(b);
    EXPECT_EQ(handler_of(SIGWINCH), SIG_DFL);
    raise(SIGWINCH);  // ignored: no handler records it
    goro::os::notify(a, {SIGUSR1});
    raise(SIGUSR1);
    EXPECT_EQ(a.recv(), SIGUSR1);  // the SIGWINCH was never pending: SIGUSR1 is all a gets
    goro::os::stop(a);
    EXPECT_EQ(a.size(), 0u);
  });
}

TEST_F(os_test, LastStopRestoresTheProgramsOwnHandler) {
  struct sigaction own {
  }, before{};
  own.sa_handler = own_handler;
  sigemptyset(&own.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR2, &own, &before), 0);
  goro::run([] {
    auto ch = goro::make_chan<int>(1);
    goro::os::notify(ch, {SIGUSR2});
    raise(SIGUSR2);
    EXPECT_EQ(ch.recv(), SIGUSR2);
    EXPECT_EQ(own_handler_calls.load(), 0);
    goro::os::stop(ch);
    EXPECT_EQ(handler_of(SIGUSR2), &own_handler);
    raise(SIGUSR2);
    EXPECT_EQ(own_handler_calls.load(), 1);
    EXPECT_EQ(ch.size(), 0u);
  });
  sigaction(SIGUSR2, &before, nullptr);
}

// SIGQUIT's disposition before any notify is the runtime's goroutine dump; while a channel
// watches it, SIGQUIT is only a value, and the dump comes back after.
TEST_F(os_test, SigquitWatchedThenTheDumpHandlerIsBack) {
  goro::run([] {
    void (*dump_handler)(int) = handler_of(SIGQUIT);
    ASSERT_NE(dump_handler, SIG_DFL);
    auto ch = goro::make_chan<int>(1);
    goro::os::notify(ch, {SIGQUIT});
    raise(SIGQUIT);
    EXPECT_EQ(ch.recv(), SIGQUIT);
    goro::os::stop(ch);
    EXPECT_EQ(handler_of(SIGQUIT), dump_handler);
  });
}

// Go: no signals named means all of them; stop() gives every one its disposition back.
TEST_F(os_test, EmptyListMeansEverySignal) {
  goro::run([] {
    ASSERT_EQ(handler_of(SIGINT), SIG_DFL);
    auto ch = goro::make_chan<int>(4);
    goro::os::notify(ch, {});
    EXPECT_NE(handler_of(SIGINT), SIG_DFL);
    EXPECT_NE(handler_of(SIGRTMIN), SIG_DFL);
    raise(SIGINT);  // a value now, not the end of the test
    EXPECT_EQ(ch.recv(), SIGINT);
    goro::os::stop(ch);
    EXPECT_EQ(handler_of(SIGINT), SIG_DFL);
    EXPECT_EQ(handler_of(SIGTERM), SIG_DFL);
    EXPECT_EQ(handler_of(SIGRTMIN), SIG_DFL);
  });
}

TEST_F(os_test, SignalsThatCannotBeRelayedAreRefused) {
  goro::run([] {
    auto ch = goro::make_chan<int>(1);
    for (int bad : {0, -1, SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, 32,
                    33, SIGRTMAX + 1, 1000}) {
      EXPECT_THROW(goro::os::notify(ch, {bad}), std::invalid_argument) << "signal " << bad;
    }
    try {
      goro::os::notify(ch, {SIGKILL});
      ADD_FAILURE() << "SIGKILL accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()), "goro::os::notify: signal 9 (SIGKILL) cannot be caught");
    }
    // A refused list changes nothing, not even for the good signals in it.
    ASSERT_EQ(handler_of(SIGUSR1), SIG_DFL);
    EXPECT_THROW(goro::os::notify(ch, {SIGUSR1, SIGSEGV}), std::invalid_argument);
    EXPECT_EQ(handler_of(SIGUSR1), SIG_DFL);
    goro::os::stop(ch);  // never registered: nothing to do
  });
}

TEST_F(os_test, NilChannelPanicsAsInGo) {
  goro::run([] {
    goro::send_chan<int> nil;
    EXPECT_EQ(panic_text([&] { goro::os::notify(nil, {SIGUSR1}); }),
              "os/signal: Notify using nil channel");
    goro::os::stop(nil);  // as Go's Stop(nil): nothing
  });
}

// notify, stop and the receive from plain threads, with no goroutine involved.
TEST_F(os_test, FromPlainThreads) {
  auto ch = goro::make_chan<int>(1);
  std::thread([ch] { goro::os::notify(ch, {SIGUSR1}); }).join();
  std::thread([] { raise(SIGUSR1); }).join();
  std::thread([ch] {
    EXPECT_EQ(ch.recv(), SIGUSR1);
    goro::os::stop(ch);
  }).join();
}

// Goroutines registering and stopping at once while signals arrive: every channel that gets a
// value gets the right one, and every stop leaves the registrations consistent. A goroutine may
// receive another's signal (one delivery reaches every channel watching it) and stop while its
// own kill is still pending; with SIG_DFL that late delivery would end the process, so the
// program has its own handler here, which every last stop restores and which counts strays.
std::atomic<int> stray_signals{0};
void stray_handler(int) { stray_signals.fetch_add(1); }

TEST_F(os_test, ConcurrentNotifyStopAndSignals) {
  struct sigaction own {
  }, before1{}, before2{};
  own.sa_handler = stray_handler;
  sigemptyset(&own.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &own, &before1), 0);
  ASSERT_EQ(sigaction(SIGUSR2, &own, &before2), 0);
  // static: neither lambda captures it (GCC and clang disagree on whether the inner one must).
  static constexpr int rounds = static_cast<int>(goro_test::scaled(200, 100, 40));
  goro::run([] {
    goro::wait_group wg;
    for (int g = 0; g < 4; g++) {
      wg.add(1);
      goro::go([&wg, g] {
        goro_test::done_guard done(wg);
        const int sig = g % 2 ? SIGUSR1 : SIGUSR2;
        for (int i = 0; i < rounds; i++) {
          auto ch = goro::make_chan<int>(1);
          goro::os::notify(ch, {sig});
          kill(getpid(), sig);
          EXPECT_EQ(ch.recv(), sig);
          goro::os::stop(ch);
        }
      });
    }
    wg.wait();
  });
  EXPECT_EQ(handler_of(SIGUSR1), &stray_handler);
  EXPECT_EQ(handler_of(SIGUSR2), &stray_handler);
  // A late delivery is taken by stray_handler: none may still be pending when SIG_DFL is back.
  sigset_t pending;
  do {
    std::this_thread::yield();
    sigpending(&pending);
  } while (sigismember(&pending, SIGUSR1) == 1 || sigismember(&pending, SIGUSR2) == 1);
  sigaction(SIGUSR1, &before1, nullptr);
  sigaction(SIGUSR2, &before2, nullptr);
}

// As in Go, a goroutine waiting for a signal is not in a deadlock while a channel is
// registered: here every goroutine is blocked for about 200 ms (10 times the detector's
// confirmation delay) until a process outside, which the detector cannot see, sends SIGUSR1.
// The delay is no ordering: were the signal faster, the test would only prove less.
TEST_F(os_test, WaitingForASignalIsNoDeadlock) {
  goro::run([] {
    auto ch = goro::make_chan<int>(1);
    goro::os::notify(ch, {SIGUSR1});
    char sh[] = "/bin/sh";
    char dash_c[] = "-c";
    char script[] = "sleep 0.2; kill -USR1 $PPID";
    char* argv[] = {sh, dash_c, script, nullptr};
    pid_t pid = -1;
    ASSERT_EQ(posix_spawn(&pid, sh, nullptr, nullptr, argv, environ), 0);
    EXPECT_EQ(ch.recv(), SIGUSR1);
    goro::os::stop(ch);
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  });
}

}  // namespace
