// In the spirit of test/chan/select5.go (a generator that writes every combination of
// send/receive select cases over channels in every state and checks which case runs): here the
// combinations are enumerated at run time instead of generated as source.
//
// For 1, 2 and 3 cases, every case is a receive or a send on a channel that is
//   nil / ready / unbuffered-without-partner / buffered-but-blocked / closed-empty /
//   closed-with-a-buffered-value,
// and the select has no default, a default first, or a default last. For each combination:
//   - some case ready: one of the ready cases runs (a send on a closed channel panics instead),
//     its effect is exactly one transfer, nothing else changes, and over repeated trials every
//     ready case gets chosen;
//   - nothing ready, with default: the default runs and nothing changes;
//   - nothing ready, no default: the select blocks in a goroutine until main makes one chosen
//     case ready (by the complementary operation, or by closing its channel), and then exactly
//     that case runs. Selects over nil channels only are covered by select3's death tests.
#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "conformance.hpp"

namespace {

using conformance::run_checked;
using goro::chan;
using goro::make_chan;
using goro::on_default;
using goro::on_recv;
using goro::on_send;

enum class kind { recv, send };
enum class state { nil, ready, unbuffered_idle, buffered_blocked, closed_empty, closed_with_value };
enum class default_at { none, first, last };

constexpr std::array all_states{state::nil,
                                state::ready,
                                state::unbuffered_idle,
                                state::buffered_blocked,
                                state::closed_empty,
                                state::closed_with_value};

const char* name(kind k) { return k == kind::recv ? "recv" : "send"; }
const char* name(state s) {
  switch (s) {
    case state::nil:
      return "nil";
    case state::ready:
      return "ready";
    case state::unbuffered_idle:
      return "unbuffered-idle";
    case state::buffered_blocked:
      return "buffered-blocked";
    case state::closed_empty:
      return "closed-empty";
    case state::closed_with_value:
      return "closed-with-value";
  }
  return "?";
}

// Values: what a case sends, what sits in a receive case's buffer, what fills a send case's
// buffer, and what main hands over when it unblocks a case. Distinct per case index.
int send_value(std::size_t i) { return 200 + static_cast<int>(i); }
int buffered_for_recv(std::size_t i) { return 100 + static_cast<int>(i); }
int buffered_for_send(std::size_t i) { return 300 + static_cast<int>(i); }
int unblock_value(std::size_t i) { return 500 + static_cast<int>(i); }

struct case_spec {
  kind k;
  state s;
};

bool is_ready(const case_spec& c) {
  return c.s == state::ready || c.s == state::closed_empty || c.s == state::closed_with_value;
}
bool panics_when_chosen(const case_spec& c) {
  return c.k == kind::send && (c.s == state::closed_empty || c.s == state::closed_with_value);
}

chan<int> make_channel(const case_spec& c, std::size_t i) {
  switch (c.s) {
    case state::nil:
      return {};
    case state::unbuffered_idle:
      return make_chan<int>();
    case state::ready: {
      auto ch = make_chan<int>(1);
      if (c.k == kind::recv) ch.send(buffered_for_recv(i));
      return ch;
    }
    case state::buffered_blocked: {
      auto ch = make_chan<int>(1);
      if (c.k == kind::send) ch.send(buffered_for_send(i));
      return ch;
    }
    case state::closed_empty: {
      auto ch = make_chan<int>(1);
      ch.close();
      return ch;
    }
    case state::closed_with_value: {
      auto ch = make_chan<int>(1);
      ch.send(c.k == kind::recv ? buffered_for_recv(i) : buffered_for_send(i));
      ch.close();
      return ch;
    }
  }
  return {};
}

// What the handlers saw. `ran` is the logical case index (-1 for the default).
struct record {
  int runs = 0;
  int ran = -2;
  std::optional<int> got;
};

struct recv_handler {
  int index;
  record* rec;
  void operator()(std::optional<int> v) const {
    ++rec->runs;
    rec->ran = index;
    rec->got = v;
  }
};
struct send_handler {
  int index;
  record* rec;
  void operator()() const {
    ++rec->runs;
    rec->ran = index;
  }
};
struct default_handler {
  record* rec;
  void operator()() const {
    ++rec->runs;
    rec->ran = -1;
  }
};

template <kind K>
auto make_case(const chan<int>& ch, std::size_t i, record& rec) {
  if constexpr (K == kind::recv) {
    return on_recv(ch, recv_handler{static_cast<int>(i), &rec});
  } else {
    // A const lvalue, so the case holds its own copy: this case outlives the full-expression
    // that made it, and a case made from a prvalue T refers to that temporary.
    const int value = send_value(i);
    return on_send(ch, value, send_handler{static_cast<int>(i), &rec});
  }
}

// Runs the select and returns the logical index of the case that ran (-1: default).
template <kind... Ks, std::size_t... Is>
int run_select(default_at d, const std::vector<chan<int>>& chans, record& rec,
               std::index_sequence<Is...>) {
  constexpr int n = sizeof...(Ks);
  switch (d) {
    case default_at::none:
      return static_cast<int>(goro::select(make_case<Ks>(chans[Is], Is, rec)...));
    case default_at::first: {
      const auto pos =
          goro::select(on_default(default_handler{&rec}), make_case<Ks>(chans[Is], Is, rec)...);
      return static_cast<int>(pos) - 1;
    }
    case default_at::last: {
      const auto pos =
          goro::select(make_case<Ks>(chans[Is], Is, rec)..., on_default(default_handler{&rec}));
      return static_cast<int>(pos) == n ? -1 : static_cast<int>(pos);
    }
  }
  return -3;
}

std::string describe(const std::vector<case_spec>& specs, default_at d) {
  std::string s = "select{";
  if (d == default_at::first) s += " default;";
  for (const auto& c : specs) s += std::string(" ") + name(c.k) + "(" + name(c.s) + ");";
  if (d == default_at::last) s += " default;";
  return s + " }";
}

// Checks every channel after a select in which case `chosen` (-1: none) completed normally.
// For the case that was unblocked by main, `unblocked` says how and the check is done by the
// caller instead.
void expect_channels_after(const std::vector<case_spec>& specs, std::vector<chan<int>>& chans,
                           int chosen, const std::string& where) {
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const auto& c = specs[i];
    auto& ch = chans[i];
    const bool was_chosen = static_cast<int>(i) == chosen;
    switch (c.s) {
      case state::nil:
        EXPECT_FALSE(ch) << where << " case " << i;
        break;
      case state::unbuffered_idle:
        EXPECT_EQ(ch.size(), 0u) << where << " case " << i;
        break;
      case state::ready:
        if (c.k == kind::recv) {
          EXPECT_EQ(ch.size(), was_chosen ? 0u : 1u) << where << " case " << i;
        } else {
          ASSERT_EQ(ch.size(), was_chosen ? 1u : 0u) << where << " case " << i;
          if (was_chosen) {
            EXPECT_EQ(ch.recv(), send_value(i)) << where << " case " << i;
          }
        }
        break;
      case state::buffered_blocked:
        if (c.k == kind::recv) {
          EXPECT_EQ(ch.size(), 0u) << where << " case " << i;
        } else {
          ASSERT_EQ(ch.size(), 1u) << where << " case " << i;
          EXPECT_EQ(ch.recv(), buffered_for_send(i))
              << where << " case " << i << ": a blocked send must not replace a value";
        }
        break;
      case state::closed_empty:
        EXPECT_EQ(ch.size(), 0u) << where << " case " << i;
        break;
      case state::closed_with_value:
        if (c.k == kind::recv && was_chosen) {
          EXPECT_EQ(ch.size(), 0u) << where << " case " << i;
        } else {
          ASSERT_EQ(ch.size(), 1u) << where << " case " << i;
          EXPECT_EQ(ch.recv(), c.k == kind::recv ? buffered_for_recv(i) : buffered_for_send(i))
              << where << " case " << i;
        }
        break;
    }
  }
}

// The value a receive case must see when it is chosen while ready.
std::optional<int> ready_recv_value(const case_spec& c, std::size_t i) {
  if (c.s == state::closed_empty) return std::nullopt;
  return buffered_for_recv(i);
}

// Trials per combination with a ready case.
constexpr int min_trials = 8;
constexpr int max_trials = 200;

template <kind... Ks>
void check_ready_combination(const std::vector<case_spec>& specs, default_at d) {
  constexpr std::size_t n = sizeof...(Ks);
  const std::string where = describe(specs, d);
  std::vector<bool> ready_seen(n, false);
  bool panic_seen = false;
  auto all_seen = [&] {
    for (std::size_t i = 0; i < n; ++i) {
      if (!is_ready(specs[i])) continue;
      if (panics_when_chosen(specs[i]) ? !panic_seen : !ready_seen[i]) return false;
    }
    return true;
  };
  // Runs until every ready case has been chosen at least once (a few trials on average), at
  // least min_trials times, and at most max_trials times.
  for (int t = 0; t < max_trials && (t < min_trials || !all_seen()); ++t) {
    std::vector<chan<int>> chans;
    for (std::size_t i = 0; i < n; ++i) chans.push_back(make_channel(specs[i], i));
    record rec;
    int chosen = -3;
    const std::string panic = conformance::panic_text(
        [&] { chosen = run_select<Ks...>(d, chans, rec, std::make_index_sequence<n>{}); });
    if (panic != "<no panic>") {
      EXPECT_EQ(panic, "send on closed channel") << where;
      EXPECT_EQ(rec.runs, 0) << where << ": no handler runs when the chosen send panics";
      panic_seen = true;
      expect_channels_after(specs, chans, -1, where);
      continue;
    }
    ASSERT_GE(chosen, 0) << where << ": a ready case exists, the default must not run";
    ASSERT_LT(chosen, static_cast<int>(n)) << where;
    const auto& c = specs[static_cast<std::size_t>(chosen)];
    EXPECT_TRUE(is_ready(c)) << where << ": chose non-ready case " << chosen;
    EXPECT_FALSE(panics_when_chosen(c)) << where << ": a send on a closed channel completed";
    EXPECT_EQ(rec.runs, 1) << where;
    EXPECT_EQ(rec.ran, chosen) << where << ": the returned index and the handler disagree";
    if (c.k == kind::recv) {
      EXPECT_EQ(rec.got, ready_recv_value(c, static_cast<std::size_t>(chosen))) << where;
    }
    ready_seen[static_cast<std::size_t>(chosen)] = true;
    expect_channels_after(specs, chans, chosen, where);
  }
  // Fairness sanity: in max_trials uniform choices among at most 3 ready cases, a given case is
  // missed with probability (2/3)^max_trials < 1e-35.
  for (std::size_t i = 0; i < n; ++i) {
    if (!is_ready(specs[i])) continue;
    if (panics_when_chosen(specs[i])) {
      EXPECT_TRUE(panic_seen) << where << ": the closed send case " << i << " was never chosen";
    } else {
      EXPECT_TRUE(ready_seen[i]) << where << ": ready case " << i << " was never chosen";
    }
  }
}

template <kind... Ks>
void check_default_combination(const std::vector<case_spec>& specs, default_at d) {
  constexpr std::size_t n = sizeof...(Ks);
  const std::string where = describe(specs, d);
  std::vector<chan<int>> chans;
  for (std::size_t i = 0; i < n; ++i) chans.push_back(make_channel(specs[i], i));
  record rec;
  const int chosen = run_select<Ks...>(d, chans, rec, std::make_index_sequence<n>{});
  EXPECT_EQ(chosen, -1) << where << ": nothing is ready, the default must run";
  EXPECT_EQ(rec.runs, 1) << where;
  EXPECT_EQ(rec.ran, -1) << where;
  expect_channels_after(specs, chans, -1, where);
}

enum class unblock_by { partner, close };

// Nothing is ready and there is no default: the select blocks in a goroutine until main makes
// case `j` ready. Only case j can then complete, so the select must report j.
template <kind... Ks>
void check_blocking_combination(const std::vector<case_spec>& specs, std::size_t j,
                                unblock_by how) {
  constexpr std::size_t n = sizeof...(Ks);
  const std::string where = describe(specs, default_at::none) + " unblocking case " +
                            std::to_string(j) + (how == unblock_by::close ? " by close" : "");
  std::vector<chan<int>> chans;
  for (std::size_t i = 0; i < n; ++i) chans.push_back(make_channel(specs[i], i));
  record rec;
  struct outcome {
    int chosen;
    std::string panic;
  };
  auto result = make_chan<outcome>(1);
  goro::go([&chans, &rec, result] {
    int chosen = -3;
    std::string panic = conformance::panic_text([&] {
      chosen = run_select<Ks...>(default_at::none, chans, rec, std::make_index_sequence<n>{});
    });
    result.send(outcome{chosen, std::move(panic)});
  });

  auto& ch = chans[j];
  const auto& c = specs[j];
  if (how == unblock_by::close) {
    ch.close();
  } else if (c.k == kind::recv) {
    ch.send(unblock_value(j));  // hands the value over, directly or through the empty buffer
  } else if (c.s == state::unbuffered_idle) {
    EXPECT_EQ(ch.recv(), send_value(j)) << where;
  } else {
    EXPECT_EQ(ch.recv(), buffered_for_send(j)) << where;  // frees the slot the select waits for
  }
  const auto out = result.recv();
  ASSERT_TRUE(out.has_value());
  if (how == unblock_by::close && c.k == kind::send) {
    EXPECT_EQ(out->panic, "send on closed channel") << where;
    EXPECT_EQ(rec.runs, 0) << where;
    return;
  }
  EXPECT_EQ(out->panic, "<no panic>") << where;
  EXPECT_EQ(out->chosen, static_cast<int>(j)) << where;
  EXPECT_EQ(rec.runs, 1) << where;
  EXPECT_EQ(rec.ran, static_cast<int>(j)) << where;
  if (c.k == kind::recv) {
    EXPECT_EQ(rec.got, how == unblock_by::close ? std::nullopt : std::optional(unblock_value(j)))
        << where;
  } else if (c.s == state::buffered_blocked) {
    EXPECT_EQ(ch.recv(), send_value(j)) << where << ": the unblocked send must land in the buffer";
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (i == j) continue;
    EXPECT_EQ(chans[i].size(),
              specs[i].k == kind::send && specs[i].s == state::buffered_blocked ? 1u : 0u)
        << where << ": case " << i << " must be untouched";
  }
}

struct counters {
  int ready = 0;
  int with_default = 0;
  int blocking = 0;
};

template <kind... Ks>
void check_all_states(std::vector<case_spec> specs, counters& count) {
  constexpr std::size_t n = sizeof...(Ks);
  if (specs.size() < n) {
    for (state s : all_states) {
      auto next = specs;
      next.push_back(case_spec{std::array{Ks...}[specs.size()], s});
      check_all_states<Ks...>(std::move(next), count);
    }
    return;
  }
  bool any_ready = false;
  bool all_nil = true;
  for (const auto& c : specs) {
    any_ready = any_ready || is_ready(c);
    all_nil = all_nil && c.s == state::nil;
  }
  if (any_ready) {
    for (default_at d : {default_at::none, default_at::first, default_at::last}) {
      check_ready_combination<Ks...>(specs, d);
      ++count.ready;
    }
    return;
  }
  for (default_at d : {default_at::first, default_at::last}) {
    check_default_combination<Ks...>(specs, d);
    ++count.with_default;
  }
  if (all_nil) return;
  for (std::size_t j = 0; j < n; ++j) {
    if (specs[j].s == state::nil) continue;
    for (unblock_by how : {unblock_by::partner, unblock_by::close}) {
      check_blocking_combination<Ks...>(specs, j, how);
      ++count.blocking;
    }
  }
}

TEST(Select5, OneCase) {
  counters count;
  run_checked([&] {
    check_all_states<kind::recv>({}, count);
    check_all_states<kind::send>({}, count);
  });
  // 2 kinds x 6 states, each run with 3 default placements (or 2 + blocking).
  EXPECT_EQ(count.ready / 3 + count.with_default / 2, 2 * 6);
}

TEST(Select5, TwoCases) {
  counters count;
  run_checked([&] {
    check_all_states<kind::recv, kind::recv>({}, count);
    check_all_states<kind::recv, kind::send>({}, count);
    check_all_states<kind::send, kind::recv>({}, count);
    check_all_states<kind::send, kind::send>({}, count);
  });
  // 4 kind layouts x 36 state pairs, each run with 3 default placements (or 2 + blocking).
  EXPECT_EQ(count.ready / 3 + count.with_default / 2, 4 * 36);
}

TEST(Select5, ThreeCases) {
  counters count;
  run_checked([&] {
    check_all_states<kind::recv, kind::recv, kind::recv>({}, count);
    check_all_states<kind::recv, kind::recv, kind::send>({}, count);
    check_all_states<kind::recv, kind::send, kind::recv>({}, count);
    check_all_states<kind::recv, kind::send, kind::send>({}, count);
    check_all_states<kind::send, kind::recv, kind::recv>({}, count);
    check_all_states<kind::send, kind::recv, kind::send>({}, count);
    check_all_states<kind::send, kind::send, kind::recv>({}, count);
    check_all_states<kind::send, kind::send, kind::send>({}, count);
  });
  EXPECT_EQ(count.ready / 3 + count.with_default / 2, 8 * 216);
  RecordProperty("blocking_combinations", count.blocking);
}

}  // namespace
