// Ports of test/chan/sieve1.go and test/chan/sieve2.go: concurrent prime sieves. Go's versions
// leak their goroutines when main returns; here every stage also listens on a `quit` channel,
// so the test can end the pipeline and check that nothing is left running.
#include <algorithm>
#include <deque>
#include <optional>
#include <queue>
#include <utility>
#include <vector>

#include "conformance.hpp"

namespace {

using conformance::run_checked;
using goro::chan;
using goro::make_chan;
using goro::on_recv;
using goro::on_send;
using goro::recv_chan;
using goro::send_chan;

// The first `count` primes, by trial division: the reference the sieves are checked against.
std::vector<int> reference_primes(int count) {
  std::vector<int> primes;
  for (int n = 2; static_cast<int>(primes.size()) < count; ++n) {
    bool prime = true;
    for (int p : primes) {
      if (p * p > n) break;
      if (n % p == 0) {
        prime = false;
        break;
      }
    }
    if (prime) primes.push_back(n);
  }
  return primes;
}

// Sends v on out unless quit is closed first; false when quitting.
bool send_or_quit(const send_chan<int>& out, int v, const recv_chan<goro::signal>& quit) {
  return goro::select(on_send(out, v), on_recv(quit, [] {})) == 0;
}

// Receives from in unless quit is closed first; nullopt when quitting (or in is closed).
std::optional<int> recv_or_quit(const recv_chan<int>& in, const recv_chan<goro::signal>& quit) {
  std::optional<int> got;
  goro::select(on_recv(in, [&](std::optional<int> v) { got = v; }), on_recv(quit, [] {}));
  return got;
}

// --- sieve1.go: Generate 2, 3, 4, ... into a chain of Filter stages, one per prime. ---

void generate(send_chan<int> out, recv_chan<goro::signal> quit, goro::wait_group* wg) {
  for (int i = 2; send_or_quit(out, i, quit); ++i) {
  }
  wg->done();
}

// Copies the values from in to out, dropping multiples of prime.
void filter(recv_chan<int> in, send_chan<int> out, int prime, recv_chan<goro::signal> quit,
            goro::wait_group* wg) {
  while (auto v = recv_or_quit(in, quit)) {
    if (*v % prime != 0 && !send_or_quit(out, *v, quit)) break;
  }
  wg->done();
}

TEST(Sieve1, FirstPrimes) {
  const int count = conformance::scaled(500, 5);
  run_checked([] {
    auto quit = make_chan<goro::signal>();
    goro::wait_group wg;
    wg.add(1);
    chan<int> ch = make_chan<int>();
    goro::go(generate, ch, quit, &wg);
    std::vector<int> primes;
    for (int i = 0; i < count; ++i) {
      const auto prime = ch.recv();
      ASSERT_TRUE(prime.has_value());
      primes.push_back(*prime);
      auto next = make_chan<int>();
      wg.add(1);
      goro::go(filter, ch, next, *prime, quit, &wg);
      ch = next;
    }
    quit.close();
    wg.wait();
    EXPECT_EQ(primes, reference_primes(count));
  });
}

// --- sieve2.go: Eratosthenes over odd candidates. For each odd prime p a goroutine streams
// p*p, p*p+2p, ...; a merger keeps those streams in a heap and emits all odd composites in
// order; the prime finder walks the odd numbers against that stream. Primes found are fed back
// to the merger through a proxy goroutine with an unbounded queue (Go's sendproxy), because the
// merger and the finder would otherwise each wait for the other. ---

void multiples(int prime, send_chan<int> out, recv_chan<goro::signal> quit, goro::wait_group* wg) {
  for (long long m = static_cast<long long>(prime) * prime;
       m < (1 << 30) && send_or_quit(out, static_cast<int>(m), quit); m += 2LL * prime) {
  }
  wg->done();
}

// Forwards from in to out, buffering without bound, so that sends on in never block for long.
// The send case is disabled by giving it a nil channel while the queue is empty.
void send_proxy(recv_chan<int> in, send_chan<int> out, recv_chan<goro::signal> quit,
                goro::wait_group* wg) {
  std::deque<int> queue;
  bool quitting = false;
  while (!quitting) {
    const send_chan<int> target = queue.empty() ? send_chan<int>{} : out;
    const int head = queue.empty() ? 0 : queue.front();
    goro::select(on_recv(in, [&](std::optional<int> v) { queue.push_back(*v); }),
                 on_send(target, head, [&] { queue.pop_front(); }),
                 on_recv(quit, [&] { quitting = true; }));
  }
  wg->done();
}

struct peeked {
  int value;
  chan<int> stream;
  bool operator>(const peeked& o) const { return value > o.value; }
};

// Emits every odd composite in increasing order. Before emitting x it must have added the
// stream of every odd prime p with p*p <= x. Primes arrive in order on `primes`, starting
// with 5 (3 is built in). It asks for the next prime only when x >= (last + 2)^2, `last` being
// the largest prime it knows: below that no unknown prime can matter, and asking earlier would
// deadlock, since the finder needs composites to find that prime.
void composites(recv_chan<int> primes, send_chan<int> out, recv_chan<goro::signal> quit,
                goro::wait_group* wg) {
  std::priority_queue<peeked, std::vector<peeked>, std::greater<>> heap;
  bool quitting = false;
  auto add_prime = [&](int p) {
    auto stream = make_chan<int>();
    wg->add(1);
    goro::go(multiples, p, stream, quit, wg);
    if (auto first = recv_or_quit(stream, quit)) {
      heap.push(peeked{*first, stream});
    } else {
      quitting = true;
    }
  };
  add_prime(3);
  long long last = 3;
  // A prime received from `primes` whose stream is not added yet (0: none). Not an optional:
  // g++ 12 -O2 warns that its value may be used uninitialized.
  int pending = 0;
  while (!quitting && !heap.empty()) {
    const long long x = heap.top().value;
    if (pending == 0 && x >= (last + 2) * (last + 2)) {
      std::optional<int> p = recv_or_quit(primes, quit);
      if (!p) break;
      pending = *p;
      last = pending;
    }
    if (pending != 0 && static_cast<long long>(pending) * pending <= x) {
      add_prime(pending);
      pending = 0;
      continue;
    }
    peeked top = heap.top();
    heap.pop();
    if (!send_or_quit(out, top.value, quit)) break;
    // Skips duplicates (15 comes from 3 and from 5): the output is strictly increasing.
    while (!heap.empty() && heap.top().value == top.value) {
      peeked dup = heap.top();
      heap.pop();
      if (auto next = recv_or_quit(dup.stream, quit)) heap.push(peeked{*next, dup.stream});
    }
    if (auto next = recv_or_quit(top.stream, quit)) heap.push(peeked{*next, top.stream});
  }
  wg->done();
}

void sieve2_primes(send_chan<int> out, recv_chan<goro::signal> quit, goro::wait_group* wg) {
  auto feedback = make_chan<int>();
  auto to_merger = make_chan<int>();
  auto composite_stream = make_chan<int>();
  wg->add(2);
  goro::go(send_proxy, feedback, to_merger, quit, wg);
  goro::go(composites, to_merger, composite_stream, quit, wg);
  bool running = send_or_quit(out, 2, quit) && send_or_quit(out, 3, quit);
  std::optional<int> next_composite = recv_or_quit(composite_stream, quit);
  for (int candidate = 5; running && next_composite; candidate += 2) {
    while (next_composite && *next_composite < candidate) {
      next_composite = recv_or_quit(composite_stream, quit);
    }
    if (!next_composite) break;
    if (*next_composite == candidate) continue;
    running = send_or_quit(out, candidate, quit) && send_or_quit(feedback, candidate, quit);
  }
  wg->done();
}

TEST(Sieve2, FirstPrimes) {
  const int count = conformance::scaled(1000, 5);
  run_checked([] {
    auto quit = make_chan<goro::signal>();
    auto primes = make_chan<int>();
    goro::wait_group wg;
    wg.add(1);
    goro::go(sieve2_primes, primes, quit, &wg);
    std::vector<int> got;
    for (int i = 0; i < count; ++i) {
      const auto p = primes.recv();
      ASSERT_TRUE(p.has_value());
      got.push_back(*p);
    }
    quit.close();
    wg.wait();
    EXPECT_EQ(got, reference_primes(count));
  });
}

}  // namespace
