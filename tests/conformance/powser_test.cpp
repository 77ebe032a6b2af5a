// In the spirit of test/chan/powser1.go and powser2.go (McIlroy's power series as networks of
// goroutines): a power series is a stream of rational coefficients on a channel; operators are
// goroutines that read streams and write one. Recursive definitions (exp, sin/cos) feed a
// series back into its own definition through a goroutine that copies one stream into two.
// The test checks the first coefficients against closed forms. All stages stop when `quit`
// is closed, so the network can be torn down without leaking goroutines.
#include <cstdint>
#include <numeric>
#include <optional>
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

struct rat {
  std::int64_t num = 0;
  std::int64_t den = 1;
  friend bool operator==(const rat&, const rat&) = default;
};

rat make_rat(std::int64_t n, std::int64_t d) {
  if (d < 0) {
    n = -n;
    d = -d;
  }
  const std::int64_t g = std::gcd(n, d);
  return g == 0 ? rat{0, 1} : rat{n / g, d / g};
}
rat operator+(rat a, rat b) { return make_rat(a.num * b.den + b.num * a.den, a.den * b.den); }
rat operator*(rat a, rat b) { return make_rat(a.num * b.num, a.den * b.den); }
rat operator-(rat a) { return rat{-a.num, a.den}; }

void PrintTo(const rat& r, std::ostream* os) { *os << r.num << "/" << r.den; }

using series = chan<rat>;

// Every stage is a goroutine registered in this network, which ends them all on teardown().
class network {
 public:
  network() : quit_(make_chan<goro::signal>()) {}

  // Starts f(args...) as a stage.
  template <class F, class... Args>
  void stage(F f, Args... args) {
    wg_.add(1);
    goro::go([this, f, args...]() mutable {
      f(*this, args...);
      wg_.done();
    });
  }

  bool put(const send_chan<rat>& out, rat v) const {
    return goro::select(on_send(out, v), on_recv(quit_, [] {})) == 0;
  }
  std::optional<rat> get(const recv_chan<rat>& in) const {
    std::optional<rat> got;
    goro::select(on_recv(in, [&](std::optional<rat> v) { got = v; }), on_recv(quit_, [] {}));
    return got;
  }
  recv_chan<goro::signal> quit() const { return quit_; }

  void teardown() {
    quit_.close();
    wg_.wait();
  }

 private:
  chan<goro::signal> quit_;
  goro::wait_group wg_;
};

// Copies `in` into two outputs. Each value goes to whichever output is ready first, then to
// the other, so neither consumer has to be the first to ask.
void split(network& net, const series& in, const series& a, const series& b) {
  while (auto v = net.get(in)) {
    const rat value = *v;
    bool to_a = false;
    const auto ran = goro::select(on_send(a, value, [&] { to_a = true; }), on_send(b, value),
                                  on_recv(net.quit(), [] {}));
    if (ran == 2) return;
    if (!(to_a ? net.put(b, value) : net.put(a, value))) return;
  }
}

// The integral with constant term c: c, a0/1, a1/2, a2/3, ...
void integrate(network& net, rat c, const series& in, const series& out) {
  if (!net.put(out, c)) return;
  for (std::int64_t i = 1;; ++i) {
    auto v = net.get(in);
    if (!v || !net.put(out, *v * make_rat(1, i))) return;
  }
}

void negate(network& net, const series& in, const series& out) {
  while (auto v = net.get(in)) {
    if (!net.put(out, -*v)) return;
  }
}

void constant_ones(network& net, const series& out) {
  while (net.put(out, make_rat(1, 1))) {
  }
}

// The Cauchy product: c_n = sum a_i b_(n-i). Keeps the coefficients seen so far.
void multiply(network& net, const series& a, const series& b, const series& out) {
  std::vector<rat> as;
  std::vector<rat> bs;
  for (;;) {
    auto x = net.get(a);
    auto y = net.get(b);
    if (!x || !y) return;
    as.push_back(*x);
    bs.push_back(*y);
    rat sum{0, 1};
    const std::size_t n = as.size() - 1;
    for (std::size_t i = 0; i <= n; ++i) sum = sum + as[i] * bs[n - i];
    if (!net.put(out, sum)) return;
  }
}

std::int64_t factorial(int n) { return n <= 1 ? 1 : n * factorial(n - 1); }

constexpr int terms = 10;

// exp: X = 1 + integral(X); its coefficients are 1/n!.
TEST(PowSer, Exp) {
  run_checked([] {
    network net;
    auto x = make_chan<rat>();
    auto x_out = make_chan<rat>();
    auto x_back = make_chan<rat>();
    net.stage(integrate, make_rat(1, 1), x_back, x);
    net.stage(split, x, x_out, x_back);
    for (int n = 0; n < terms; ++n) {
      EXPECT_EQ(net.get(x_out), make_rat(1, factorial(n))) << "coefficient " << n;
    }
    net.teardown();
  });
}

// sin and cos: S = integral(C), C = 1 - integral(S), each fed back through a split.
TEST(PowSer, SinCos) {
  run_checked([] {
    network net;
    auto s = make_chan<rat>();
    auto c = make_chan<rat>();
    auto s_out = make_chan<rat>();
    auto s_back = make_chan<rat>();
    auto c_out = make_chan<rat>();
    auto c_back = make_chan<rat>();
    auto minus_s = make_chan<rat>();
    net.stage(integrate, make_rat(0, 1), c_back, s);
    net.stage(negate, s_back, minus_s);
    net.stage(integrate, make_rat(1, 1), minus_s, c);
    net.stage(split, s, s_out, s_back);
    net.stage(split, c, c_out, c_back);
    for (int n = 0; n < terms; ++n) {
      // sin: x - x^3/3! + x^5/5! ...; cos: 1 - x^2/2! + x^4/4! ...
      const std::int64_t sign = (n / 2) % 2 == 0 ? 1 : -1;
      const rat sin_n = n % 2 == 1 ? make_rat(sign, factorial(n)) : make_rat(0, 1);
      const rat cos_n = n % 2 == 0 ? make_rat(sign, factorial(n)) : make_rat(0, 1);
      EXPECT_EQ(net.get(s_out), sin_n) << "sin coefficient " << n;
      EXPECT_EQ(net.get(c_out), cos_n) << "cos coefficient " << n;
    }
    net.teardown();
  });
}

// 1/(1-x) squared is 1 + 2x + 3x^2 + ...: a product of two streams of ones.
TEST(PowSer, ProductOfGeometricSeries) {
  run_checked([] {
    network net;
    auto a = make_chan<rat>();
    auto b = make_chan<rat>();
    auto p = make_chan<rat>();
    net.stage(constant_ones, a);
    net.stage(constant_ones, b);
    net.stage(multiply, a, b, p);
    for (int n = 0; n < terms; ++n)
      EXPECT_EQ(net.get(p), make_rat(n + 1, 1)) << "coefficient " << n;
    net.teardown();
  });
}

}  // namespace
