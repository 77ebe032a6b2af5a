// Seeded random programs (label `stress`): each program is a random set of channels (capacity
// 0-4), sender and receiver actors (goroutines, and some plain std::threads) and one closer
// goroutine per channel that closes it once every sender of that channel has finished. Senders
// use send, try_send and select with send cases (duplicate cases on one channel, nil-channel
// cases, on_default, and timeouts as on_recv(goro::after(d)) cases); receivers use range-for,
// recv loops, try_recv and select with receive cases (the same mix). Every program runs in its
// own goro::run(); one test runs them at the ctest variant's worker count, the other at a random
// max_procs in 1..6 per program, so the worker pool is resized between runs.
//
// Invariants checked after each program:
// - exactly once: the multiset of values received equals the multiset of values whose send
//   completed (send returned, try_send returned ok, or the select's send case ran); a value
//   arrives on the channel it was sent on. Values encode (sender, channel, sequence number).
// - order: per (sender, channel), each receiver sees increasing sequence numbers (a sender's
//   operations are sequential and a channel is FIFO, so no receiver can see them out of order).
// - close: once a receive reports closed (recv gives nullopt, try_recv gives closed, a select's
//   receive case gives nullopt), later receives on that channel report closed too; after the
//   program, in a dedicated step on the main goroutine, try_send, send and a select send case
//   on each closed channel throw goro::panic_error("send on closed channel") and close() throws
//   "close of closed channel".
// - the program ends: run() returns (a deadlock report would end the process), and no
//   goroutine or stack outlives the test (the fixture's leak check).
// Nothing depends on timing: events are ordered through channels and wait groups only. A
// timeout case firing or not changes only which values count as sent, never what is checked.
// Why no program can deadlock: every channel has an "anchor" receiver whose blocking waits
// always include that channel (a range-for or recv loop over it alone, or a receiver whose
// blocking selects cover all its open channels), so no send blocks forever, every sender ends,
// every channel is closed, and every other receiver's blocking receive ends with that close.
//
// Seeds: the base seed is $GORO_STRESS_SEED (decimal or 0x-hex) if set, else a fixed default,
// so CI is reproducible. Program 0 of each test uses the base seed itself; program i > 0 uses a
// seed derived from it. Every program prints one line "random_programs: <test> program <i>
// seed <n> ..." to stderr before it runs (a deadlock report ends the process without returning
// to gtest, so the last such line names the culprit), and every failure message carries the
// program's seed and description through SCOPED_TRACE. To replay a failing program, with the
// ctest variant's environment (GORO_MAXPROCS, GORO_DEBUG_MIGRATE) and the test it failed in:
//   GORO_STRESS_SEED=<n> GORO_STRESS_PROGRAMS=1 GORO_MAXPROCS=<p> ./test_random_programs
//       --gtest_filter=random_programs.AtRandomProcs   (all on one command line)
// GORO_STRESS_PROGRAMS=1 runs only program 0, which is then exactly that program: the same
// channels, actors and operations, and in AtRandomProcs the same max_procs (drawn from the
// seed). Repeat with --gtest_repeat=N: the interleaving is up to the scheduler, so a rare
// failure may need many replays. GORO_STRESS_PROGRAMS=<k> also sets how many programs run.
#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test_util.hpp"

namespace {

using namespace std::chrono_literals;
using goro::chan;
using goro::on_default;
using goro::on_recv;
using goro::on_send;
using goro::select;
using goro::status;
using goro_test::scaled;

using value_t = std::uint64_t;

constexpr unsigned kMaxChans = 4;
constexpr unsigned kNilChan = 0xff;  // the channel field of a value offered on a nil channel
constexpr unsigned kMaxThreads = 3;  // plain threads per program, at most

// A value: sender id (bits 48..63), channel index (bits 40..47), sequence number (0..39).
constexpr value_t encode(unsigned sender, unsigned ch, value_t seq) {
  return (static_cast<value_t>(sender) << 48) | (static_cast<value_t>(ch) << 40) | seq;
}
constexpr unsigned sender_of(value_t v) { return static_cast<unsigned>(v >> 48); }
constexpr unsigned chan_of(value_t v) { return static_cast<unsigned>((v >> 40) & 0xff); }
constexpr value_t seq_of(value_t v) { return v & ((value_t{1} << 40) - 1); }

// splitmix64: small, fast and the same on every platform (unlike std:: distributions).
class prng {
 public:
  explicit prng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  unsigned below(std::size_t n) { return static_cast<unsigned>(next() % n); }
  bool one_in(unsigned n) { return below(n) == 0; }

 private:
  std::uint64_t s_;
};

// ---------------------------------------------------------------------------------------------
// Program description.

struct sender_spec {
  bool thread = false;
  std::vector<unsigned> chans;  // distinct, non-empty
  int ops = 0;
  std::uint64_t seed = 0;
};

enum class recv_mode { range, recv_loop, mixed };

struct receiver_spec {
  bool thread = false;
  recv_mode mode = recv_mode::range;
  // mixed only: every blocking wait covers all of this receiver's open channels (an anchor).
  bool full = false;
  std::vector<unsigned> chans;  // distinct, non-empty; exactly one unless mixed
  std::uint64_t seed = 0;
};

struct program {
  std::uint64_t seed = 0;
  unsigned procs = 1;  // max_procs in the RandomProcs test
  std::vector<std::size_t> caps;
  std::vector<sender_spec> senders;
  std::vector<receiver_spec> receivers;
  std::vector<unsigned> start_order;  // actors in start order: senders first in index, then
                                      // receivers at senders.size() + index

  std::string describe() const {
    std::ostringstream os;
    os << "seed " << seed << " (replay: GORO_STRESS_SEED=" << seed
       << " GORO_STRESS_PROGRAMS=1), procs " << procs << ", caps [";
    for (std::size_t c = 0; c < caps.size(); ++c) os << (c ? "," : "") << caps[c];
    os << "], senders [";
    for (std::size_t i = 0; i < senders.size(); ++i) {
      const auto& s = senders[i];
      os << (i ? " " : "") << (s.thread ? "T" : "G") << "{";
      for (std::size_t k = 0; k < s.chans.size(); ++k) os << (k ? "," : "") << s.chans[k];
      os << "}x" << s.ops;
    }
    os << "], receivers [";
    for (std::size_t i = 0; i < receivers.size(); ++i) {
      const auto& r = receivers[i];
      os << (i ? " " : "") << (r.thread ? "T" : "G")
         << (r.mode == recv_mode::range       ? "range"
             : r.mode == recv_mode::recv_loop ? "loop"
             : r.full                         ? "full"
                                              : "partial")
         << "{";
      for (std::size_t k = 0; k < r.chans.size(); ++k) os << (k ? "," : "") << r.chans[k];
      os << "}";
    }
    os << "]";
    return os.str();
  }
};

std::vector<unsigned> random_subset(prng& r, unsigned n) {
  std::vector<unsigned> s;
  for (unsigned c = 0; c < n; ++c)
    if (r.one_in(2)) s.push_back(c);
  if (s.empty()) s.push_back(r.below(n));
  return s;
}

program generate(std::uint64_t seed, int max_ops) {
  prng r(seed);
  program p;
  p.seed = seed;
  p.procs = 1 + r.below(6);
  const unsigned nchans = 1 + r.below(kMaxChans);
  for (unsigned c = 0; c < nchans; ++c) p.caps.push_back(r.below(5));
  unsigned threads = 0;
  auto maybe_thread = [&] {
    if (threads < kMaxThreads && r.one_in(5)) {
      ++threads;
      return true;
    }
    return false;
  };

  const unsigned nsenders = 1 + r.below(6);
  for (unsigned i = 0; i < nsenders; ++i) {
    sender_spec s;
    s.thread = maybe_thread();
    s.chans = random_subset(r, nchans);
    s.ops = static_cast<int>(r.below(static_cast<std::size_t>(max_ops) + 1));
    s.seed = r.next();
    p.senders.push_back(std::move(s));
  }

  const unsigned nreceivers = 1 + r.below(4);
  for (unsigned i = 0; i < nreceivers; ++i) {
    receiver_spec s;
    s.thread = maybe_thread();
    switch (r.below(4)) {
      case 0:
        s.mode = recv_mode::range;
        break;
      case 1:
        s.mode = recv_mode::recv_loop;
        break;
      default:
        s.mode = recv_mode::mixed;
        s.full = r.one_in(2);
        break;
    }
    s.chans = s.mode == recv_mode::mixed ? random_subset(r, nchans)
                                         : std::vector<unsigned>{r.below(nchans)};
    s.seed = r.next();
    p.receivers.push_back(std::move(s));
  }

  // Give every channel an anchor: promote a partial receiver of it, or add a receiver for it.
  for (unsigned c = 0; c < nchans; ++c) {
    std::vector<std::size_t> partial;
    bool anchored = false;
    for (std::size_t i = 0; i < p.receivers.size(); ++i) {
      const auto& s = p.receivers[i];
      if (std::find(s.chans.begin(), s.chans.end(), c) == s.chans.end()) continue;
      if (s.mode != recv_mode::mixed || s.full) anchored = true;
      if (s.mode == recv_mode::mixed && !s.full) partial.push_back(i);
    }
    if (anchored) continue;
    if (!partial.empty() && r.one_in(2)) {
      p.receivers[partial[r.below(partial.size())]].full = true;
    } else {
      receiver_spec s;
      s.thread = maybe_thread();
      s.mode = r.one_in(2) ? recv_mode::range : recv_mode::recv_loop;
      s.chans = {c};
      s.seed = r.next();
      p.receivers.push_back(std::move(s));
    }
  }

  const auto actors = static_cast<unsigned>(p.senders.size() + p.receivers.size());
  for (unsigned a = 0; a < actors; ++a) p.start_order.push_back(a);
  for (unsigned a = actors; a > 1; --a) std::swap(p.start_order[a - 1], p.start_order[r.below(a)]);
  return p;
}

// ---------------------------------------------------------------------------------------------
// What the actors record. Each actor writes only its own log; the main goroutine reads them
// after the wait group that every actor's last act releases.

struct actor_log {
  std::vector<value_t> sent;                           // senders: values whose send completed
  std::vector<std::pair<unsigned, value_t>> received;  // receivers: (channel, value) in order
  std::vector<std::string> problems;                   // invariant violations seen on the spot
  long timeouts = 0;                                   // timeout cases that ran
  long defaults = 0;                                   // default cases / not_ready results
};

std::chrono::nanoseconds random_timeout(prng& r) {
  switch (r.below(8)) {
    case 0:
      return 0ns;
    case 1:
    case 2:
      return 1us;
    case 3:
    case 4:
    case 5:
      return 20us;
    case 6:
      return 100us;
    default:
      return 300us;
  }
}

// One sender: spec.ops random operations on its channels.
class sender {
 public:
  sender(const sender_spec& spec, unsigned id, const std::vector<chan<value_t>>& chans,
         actor_log& log)
      : spec_(spec), id_(id), chans_(chans), log_(log), r_(spec.seed) {}

  void run() {
    for (int op = 0; op < spec_.ops; ++op) step();
  }

 private:
  // The channel and value of one send case. A nil target's case must never run.
  struct target {
    chan<value_t> ch;
    value_t v;
    unsigned c;
  };

  target real() {
    const unsigned c = spec_.chans[r_.below(spec_.chans.size())];
    return {chans_[c], encode(id_, c, ++seq_), c};
  }
  // A second (third, ...) case: another of this sender's channels, the same channel as `first`
  // again (a duplicate case), or nil.
  target other(const target& first) {
    switch (r_.below(3)) {
      case 0:
        return {chan<value_t>{}, encode(id_, kNilChan, ++seq_), kNilChan};
      case 1:
        return {first.ch, encode(id_, first.c, ++seq_), first.c};
      default:
        return real();
    }
  }
  void record(const target& t) {
    if (t.c == kNilChan)
      log_.problems.push_back("a send case on a nil channel ran");
    else
      log_.sent.push_back(t.v);
  }
  auto recorder(target& t) {
    return [this, &t] { record(t); };
  }
  auto defaulted() {
    return [this] {
      ++log_.defaults;
      goro::yield();  // no preemption: let the goroutine that would make us ready run
    };
  }
  auto timed_out() {
    return [this] { ++log_.timeouts; };
  }

  void step() {
    switch (r_.below(11)) {
      case 0: {  // blocking send
        auto t = real();
        t.ch.send(t.v);
        record(t);
        break;
      }
      case 1: {  // blocking send through the send-only view
        auto t = real();
        goro::send_chan<value_t> view = t.ch;
        view.send(t.v);
        record(t);
        break;
      }
      case 2: {  // try_send; when not ready, give the value up or block on it
        auto t = real();
        const status s = t.ch.try_send(t.v);
        if (s == status::ok) {
          record(t);
        } else if (s == status::closed) {
          log_.problems.push_back("try_send reported closed before the closer ran");
        } else if (r_.one_in(2)) {
          ++log_.defaults;
          t.ch.send(t.v);
          record(t);
        } else {
          ++log_.defaults;
          goro::yield();
        }
        break;
      }
      case 3: {  // two send cases, blocking
        auto a = real();
        auto b = other(a);
        select(on_send(a.ch, a.v, recorder(a)), on_send(b.ch, b.v, recorder(b)));
        break;
      }
      case 4: {  // three send cases, blocking
        auto a = real();
        auto b = other(a);
        auto c = other(a);
        select(on_send(a.ch, a.v, recorder(a)), on_send(b.ch, b.v, recorder(b)),
               on_send(c.ch, c.v, recorder(c)));
        break;
      }
      case 5: {  // two send cases and a default
        auto a = real();
        auto b = other(a);
        select(on_send(a.ch, a.v, recorder(a)), on_send(b.ch, b.v, recorder(b)),
               on_default(defaulted()));
        break;
      }
      case 6: {  // two send cases and a timeout
        auto a = real();
        auto b = other(a);
        select(on_send(a.ch, a.v, recorder(a)), on_send(b.ch, b.v, recorder(b)),
               on_recv(goro::after(random_timeout(r_)), timed_out()));
        break;
      }
      case 7: {  // five cases (past the inline poll): four sends and a nil receive
        auto a = real();
        auto b = other(a);
        auto c = other(a);
        auto d = other(a);
        chan<value_t> nil;
        select(on_send(a.ch, a.v, recorder(a)),
               on_recv(nil, [this] { log_.problems.push_back("a nil receive case ran"); }),
               on_send(b.ch, b.v, recorder(b)), on_send(c.ch, c.v, recorder(c)),
               on_send(d.ch, d.v, recorder(d)));
        break;
      }
      case 8: {  // one send case and a default
        auto a = real();
        select(on_send(a.ch, a.v, recorder(a)), on_default(defaulted()));
        break;
      }
      case 9: {  // a send case, a timeout and a default: the default wins over a pending timer
        auto a = real();
        auto b = other(a);
        select(on_recv(goro::after(random_timeout(r_)), timed_out()),
               on_send(a.ch, a.v, recorder(a)), on_send(b.ch, b.v, recorder(b)),
               on_default(defaulted()));
        break;
      }
      default:
        goro::yield();
        break;
    }
  }

  const sender_spec& spec_;
  const unsigned id_;
  const std::vector<chan<value_t>>& chans_;
  actor_log& log_;
  prng r_;
  value_t seq_ = 0;
};

// One receiver: receives until all its channels are closed and drained.
class receiver {
 public:
  receiver(const receiver_spec& spec, const std::vector<chan<value_t>>& chans, actor_log& log)
      : spec_(spec), chans_(chans), log_(log), r_(spec.seed) {}

  void run() {
    const unsigned c0 = spec_.chans[0];
    switch (spec_.mode) {
      case recv_mode::range: {
        goro::recv_chan<value_t> view = chans_[c0];
        if (r_.one_in(2)) {
          for (value_t v : chans_[c0]) got(c0, v);
        } else {
          for (value_t v : view) got(c0, v);
        }
        saw_closed(c0);
        break;
      }
      case recv_mode::recv_loop:
        while (auto v = chans_[c0].recv()) got(c0, *v);
        saw_closed(c0);
        break;
      case recv_mode::mixed:
        mixed();
        break;
    }
  }

 private:
  // What one select's handlers report back; applied after the select returns.
  struct event {
    int c = -1;  // -1: a default or timeout case ran
    std::optional<value_t> v;
  };

  void got(unsigned c, value_t v) { log_.received.emplace_back(c, v); }

  // Channel c just reported closed: every later receive must say so too.
  void saw_closed(unsigned c) {
    const auto& ch = chans_[c];
    value_t x = 0;
    const status s = ch.try_recv(x);
    if (s != status::closed)
      log_.problems.push_back("try_recv after close reported " +
                              std::string(s == status::ok ? "a value" : "not_ready") +
                              " on channel " + std::to_string(c));
    switch (r_.below(4)) {
      case 0:
        if (ch.recv().has_value())
          log_.problems.push_back("recv after close got a value on channel " + std::to_string(c));
        break;
      case 1:
        select(on_recv(ch,
                       [&](std::optional<value_t> v) {
                         if (v)
                           log_.problems.push_back("select after close got a value on channel " +
                                                   std::to_string(c));
                       }),
               on_default([&] {
                 log_.problems.push_back("select after close ran its default on channel " +
                                         std::to_string(c));
               }));
        break;
      case 2:
        for (value_t v : ch) {
          log_.problems.push_back("range after close got a value on channel " + std::to_string(c));
          got(c, v);
        }
        break;
      default:
        break;
    }
  }

  unsigned pick_open() {
    unsigned open_idx[kMaxChans];
    unsigned n = 0;
    for (unsigned c = 0; c < kMaxChans; ++c)
      if (open_[c]) open_idx[n++] = c;
    return open_idx[r_.below(n)];
  }

  auto to(event& ev, unsigned c) {
    return [&ev, c](std::optional<value_t> v) {
      ev.c = static_cast<int>(c);
      ev.v = v;
    };
  }
  auto defaulted() {
    return [this] {
      ++log_.defaults;
      goro::yield();
    };
  }
  auto timed_out() {
    return [this] { ++log_.timeouts; };
  }

  void apply(const event& ev) {
    if (ev.c < 0) return;
    const auto c = static_cast<unsigned>(ev.c);
    if (ev.v) {
      got(c, *ev.v);
    } else if (open_[c]) {
      open_[c] = {};  // from now on a nil case: never ready
      --remaining_;
      saw_closed(c);
    } else {
      log_.problems.push_back("a receive case on a nil channel ran");
    }
  }

  // A select over every channel this receiver still has open (the others are nil cases).
  void select_all() {
    event ev;
    select(on_recv(open_[0], to(ev, 0)), on_recv(open_[1], to(ev, 1)), on_recv(open_[2], to(ev, 2)),
           on_recv(open_[3], to(ev, 3)));
    apply(ev);
  }

  void mixed() {
    for (unsigned c : spec_.chans) open_[c] = chans_[c];
    remaining_ = static_cast<unsigned>(spec_.chans.size());
    while (remaining_ > 0) {
      event ev;
      switch (r_.below(10)) {
        case 0:
        case 1: {  // try_recv
          const unsigned c = pick_open();
          value_t v = 0;
          const status s = open_[c].try_recv(v);
          if (s == status::ok) {
            ev = {static_cast<int>(c), v};
          } else if (s == status::closed) {
            ev = {static_cast<int>(c), std::nullopt};
          } else {
            ++log_.defaults;
            goro::yield();
          }
          apply(ev);
          break;
        }
        case 2: {  // blocking recv on one channel: an anchor may do so only on its last one
          if (spec_.full && remaining_ > 1) {
            select_all();
            break;
          }
          const unsigned c = pick_open();
          ev = {static_cast<int>(c), open_[c].recv()};
          apply(ev);
          break;
        }
        case 3:
          select_all();
          break;
        case 4: {  // all open channels, one of them twice, and a nil case: six cases
          const unsigned d = pick_open();
          chan<value_t> nil;
          select(on_recv(open_[0], to(ev, 0)), on_recv(open_[1], to(ev, 1)),
                 on_recv(nil, to(ev, kNilChan)), on_recv(open_[2], to(ev, 2)),
                 on_recv(open_[d], to(ev, d)), on_recv(open_[3], to(ev, 3)));
          if (ev.c == static_cast<int>(kNilChan)) {
            log_.problems.push_back("a nil receive case ran");
            ev.c = -1;
          }
          apply(ev);
          break;
        }
        case 5:  // all open channels and a timeout
          select(on_recv(open_[0], to(ev, 0)), on_recv(open_[1], to(ev, 1)),
                 on_recv(goro::after(random_timeout(r_)), timed_out()),
                 on_recv(open_[2], to(ev, 2)), on_recv(open_[3], to(ev, 3)));
          apply(ev);
          break;
        case 6: {  // two open channels (maybe the same one twice) and a default
          const unsigned a = pick_open();
          const unsigned b = pick_open();
          select(on_recv(open_[a], to(ev, a)), on_default(defaulted()),
                 on_recv(open_[b], to(ev, b)));
          apply(ev);
          break;
        }
        case 7: {  // one channel and a default
          const unsigned a = pick_open();
          select(on_default(defaulted()), on_recv(open_[a], to(ev, a)));
          apply(ev);
          break;
        }
        case 8: {  // one channel twice and a timeout
          const unsigned a = pick_open();
          select(on_recv(open_[a], to(ev, a)),
                 on_recv(goro::after(random_timeout(r_)), timed_out()),
                 on_recv(open_[a], to(ev, a)));
          apply(ev);
          break;
        }
        default: {  // one channel through the receive-only view, with a default
          const unsigned a = pick_open();
          goro::recv_chan<value_t> view = open_[a];
          value_t v = 0;
          const status s = view.try_recv(v);
          if (s == status::ok) {
            ev = {static_cast<int>(a), v};
          } else if (s == status::closed) {
            ev = {static_cast<int>(a), std::nullopt};
          } else {
            ++log_.defaults;
            goro::yield();
          }
          apply(ev);
          break;
        }
      }
    }
  }

  const receiver_spec& spec_;
  const std::vector<chan<value_t>>& chans_;
  actor_log& log_;
  prng r_;
  std::array<chan<value_t>, kMaxChans> open_{};
  unsigned remaining_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Running a program and checking what it recorded.

struct outcome {
  std::vector<actor_log> senders;
  std::vector<actor_log> receivers;
  std::vector<std::string> close_problems;  // from the final close step
};

using goro_test::panic_text;

// The dedicated close step: every channel is closed and drained by now.
void check_closed(const chan<value_t>& ch, unsigned c, std::vector<std::string>& problems) {
  auto fail = [&](const std::string& what) {
    problems.push_back("channel " + std::to_string(c) + ": " + what);
  };
  value_t x = 0;
  if (ch.try_recv(x) != status::closed) fail("try_recv did not report closed");
  if (ch.recv().has_value()) fail("recv got a value");
  if (ch.size() != 0) fail("size() is not 0");
  bool closed_case = false;
  select(on_recv(ch, [&](std::optional<value_t> v) { closed_case = !v.has_value(); }),
         on_default([] {}));
  if (!closed_case) fail("select did not take the closed receive case");
  const std::string closed_send = "send on closed channel";
  std::string t = panic_text([&] { (void)ch.try_send(value_t{1}); });
  if (t != closed_send) fail("try_send: " + t);
  t = panic_text([&] { ch.send(2); });
  if (t != closed_send) fail("send: " + t);
  t = panic_text([&] { select(on_send(ch, value_t{3}), on_default([] {})); });
  if (t != closed_send) fail("select send case: " + t);
  t = panic_text([&] { ch.close(); });
  if (t != "close of closed channel") fail("close: " + t);
  if (ch.try_recv(x) != status::closed) fail("try_recv after the panics did not report closed");
}

void run_program(const program& p, unsigned max_procs, outcome& out) {
  out.senders.assign(p.senders.size(), actor_log{});
  out.receivers.assign(p.receivers.size(), actor_log{});
  goro::run(
      [&] {
        const auto nchans = static_cast<unsigned>(p.caps.size());
        std::vector<chan<value_t>> chans;
        for (std::size_t cap : p.caps) chans.push_back(goro::make_chan<value_t>(cap));
        std::array<goro::wait_group, kMaxChans> senders_of;
        for (const auto& s : p.senders)
          for (unsigned c : s.chans) senders_of[c].add(1);
        goro::wait_group all;
        all.add(static_cast<int>(nchans + p.senders.size() + p.receivers.size()));

        for (unsigned c = 0; c < nchans; ++c) {
          goro::go([&, c] {
            goro_test::done_guard done(all);
            senders_of[c].wait();
            chans[c].close();
          });
        }
        std::vector<std::thread> threads;
        for (unsigned a : p.start_order) {
          const bool is_sender = a < p.senders.size();
          const std::size_t i = is_sender ? a : a - p.senders.size();
          auto body = [&, is_sender, i] {
            goro_test::done_guard done(all);
            if (is_sender) {
              const auto& spec = p.senders[i];
              sender(spec, static_cast<unsigned>(i), chans, out.senders[i]).run();
              for (unsigned c : spec.chans) senders_of[c].done();
            } else {
              receiver(p.receivers[i], chans, out.receivers[i]).run();
            }
          };
          const bool thread = is_sender ? p.senders[i].thread : p.receivers[i].thread;
          if (thread)
            threads.emplace_back(body);
          else
            goro::go(body);
        }

        all.wait();
        for (auto& t : threads) t.join();
        for (unsigned c = 0; c < nchans; ++c) check_closed(chans[c], c, out.close_problems);
      },
      {.max_procs = max_procs});
}

struct totals {
  long programs = 0;
  long sent = 0;
  long timeouts = 0;
  long defaults = 0;
};

// Checks one program's outcome; reports at most a few lines per kind of failure.
void check(const program& p, const outcome& out, totals& tot) {
  constexpr int kMaxReports = 5;
  for (const auto& msg : out.close_problems) ADD_FAILURE() << "close step: " << msg;
  for (std::size_t i = 0; i < out.senders.size(); ++i)
    for (const auto& msg : out.senders[i].problems) ADD_FAILURE() << "sender " << i << ": " << msg;
  for (std::size_t i = 0; i < out.receivers.size(); ++i)
    for (const auto& msg : out.receivers[i].problems)
      ADD_FAILURE() << "receiver " << i << ": " << msg;

  std::vector<value_t> sent;
  for (const auto& log : out.senders) {
    sent.insert(sent.end(), log.sent.begin(), log.sent.end());
    tot.timeouts += log.timeouts;
    tot.defaults += log.defaults;
  }
  std::vector<value_t> received;
  int reports = 0;
  for (std::size_t i = 0; i < out.receivers.size(); ++i) {
    const auto& log = out.receivers[i];
    tot.timeouts += log.timeouts;
    tot.defaults += log.defaults;
    std::map<std::pair<unsigned, unsigned>, value_t> last;  // (sender, channel) -> last seq
    for (const auto& [c, v] : log.received) {
      received.push_back(v);
      const unsigned s = sender_of(v);
      if (chan_of(v) != c || s >= p.senders.size()) {
        if (reports++ < kMaxReports)
          ADD_FAILURE() << "receiver " << i << " got value 0x" << std::hex << v << std::dec
                        << " (sender " << s << ", channel " << chan_of(v) << ") on channel " << c;
        continue;
      }
      auto [it, first] = last.try_emplace({s, c}, seq_of(v));
      if (!first) {
        if (seq_of(v) <= it->second && reports++ < kMaxReports)
          ADD_FAILURE() << "receiver " << i << " saw sender " << s << " on channel " << c
                        << " out of order: seq " << seq_of(v) << " after " << it->second;
        it->second = seq_of(v);
      }
    }
  }

  std::sort(sent.begin(), sent.end());
  std::sort(received.begin(), received.end());
  tot.sent += static_cast<long>(sent.size());
  if (sent != received) {
    std::vector<value_t> missing, extra;
    std::set_difference(sent.begin(), sent.end(), received.begin(), received.end(),
                        std::back_inserter(missing));
    std::set_difference(received.begin(), received.end(), sent.begin(), sent.end(),
                        std::back_inserter(extra));
    std::ostringstream os;
    os << sent.size() << " values sent, " << received.size() << " received; " << missing.size()
       << " sent but never received, " << extra.size()
       << " received but not sent (or more often than sent)";
    auto show = [&](const char* what, const std::vector<value_t>& vs) {
      for (std::size_t k = 0; k < vs.size() && k < kMaxReports; ++k)
        os << "\n  " << what << ": sender " << sender_of(vs[k]) << " channel " << chan_of(vs[k])
           << " seq " << seq_of(vs[k]);
    };
    show("missing", missing);
    show("extra", extra);
    ADD_FAILURE() << os.str();
  }
  ++tot.programs;
}

std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v, &end, 0);
  return end && *end == '\0' ? static_cast<std::uint64_t>(n) : fallback;
}

constexpr std::uint64_t kDefaultSeed = 20240611;

std::uint64_t base_seed() { return env_u64("GORO_STRESS_SEED", kDefaultSeed); }

// Program 0 replays the base seed itself; the others get seeds derived from it and the test.
std::uint64_t program_seed(std::uint64_t base, std::uint64_t salt, std::size_t i) {
  if (i == 0) return base;
  prng r(base ^ (salt * 0xD6E8FEB86659FD93ull) ^ (static_cast<std::uint64_t>(i) << 32));
  return r.next() >> 1;  // keep it printable as a positive decimal everywhere
}

class random_programs : public goro_test::runtime_test {
 protected:
  void TearDown() override {
    // Leave the pool as the ctest variant configured it.
    goro::run([] {}, {.max_procs = goro_test::configured_max_procs()});
    runtime_test::TearDown();
  }

  // random_procs: each program's max_procs comes from its seed (1..6); otherwise the variant's.
  void run_all(const char* test, std::uint64_t salt, bool random_procs) {
    const std::size_t programs =
        static_cast<std::size_t>(env_u64("GORO_STRESS_PROGRAMS", scaled(400, 300, 200)));
    const int max_ops = static_cast<int>(scaled(400, 300, 150));
    const std::uint64_t base = base_seed();
    totals tot;
    for (std::size_t i = 0; i < programs; ++i) {
      const program p = generate(program_seed(base, salt, i), max_ops);
      const unsigned procs = random_procs ? p.procs : goro_test::configured_max_procs();
      std::fprintf(stderr, "random_programs: %s program %zu seed %" PRIu64 " procs %u\n", test, i,
                   p.seed, procs);
      SCOPED_TRACE(std::string(test) + " program " + std::to_string(i) + ": " + p.describe() +
                   (random_procs ? "" : " (procs from GORO_MAXPROCS)"));
      outcome out;
      run_program(p, procs, out);
      check(p, out, tot);
      if (HasFailure()) return;  // the first failing program's seed is the one to replay
    }
    EXPECT_GT(tot.sent, 0) << "no value was ever sent";
    std::printf("random_programs: %s: %ld programs from base seed %" PRIu64
                ", %ld values, %ld timeouts, %ld defaults/not-ready\n",
                test, tot.programs, base, tot.sent, tot.timeouts, tot.defaults);
  }
};

TEST_F(random_programs, AtConfiguredProcs) { run_all("AtConfiguredProcs", 1, false); }

TEST_F(random_programs, AtRandomProcs) { run_all("AtRandomProcs", 2, true); }

}  // namespace
