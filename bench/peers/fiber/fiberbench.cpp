// fiberbench: the Boost.Fiber peer of goro's benchmarks (bench/peers/README.md). It runs the
// workloads of ../cpp/workloads.hpp with Boost.Fiber as the runtime, the way a C++ user would
// write them today.
//
// Owns: the mapping of the workloads' runtime policy onto Boost.Fiber, and the scheduler set-up.
// Invariants: FIBER_THREADS=T threads (default 2) run fibers; with T >= 2 each one installs
// work_stealing(T) (FIBER_SCHED=shared: shared_work) and every thread but main's parks its own
// main fiber on a fiber condition variable until the workload has finished; T = 1 keeps Boost's
// default round_robin on the main thread. Idle scheduler threads spin (Boost's default).
//
//   fiberbench WORKLOAD [N]
#include <boost/fiber/all.hpp>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../cpp/workloads.hpp"

namespace {

namespace bf = boost::fibers;

struct fiber_rt {
  // Capacity 0 is Boost's unbuffered_channel. Any other capacity is a buffered_channel of the
  // next power of two, which holds one item less than that: 1023 for 1024, 127 for 128 and 100.
  template <class T>
  class chan {
   public:
    explicit chan(std::size_t cap) {
      if (cap == 0) {
        unbuffered_ = std::make_unique<bf::unbuffered_channel<T>>();
      } else {
        std::size_t pow2 = 2;
        while (pow2 < cap) pow2 *= 2;
        buffered_ = std::make_unique<bf::buffered_channel<T>>(pow2);
      }
    }

    bool send(T v) {
      auto st = unbuffered_ ? unbuffered_->push(std::move(v)) : buffered_->push(std::move(v));
      return st == bf::channel_op_status::success;
    }
    bool recv(T& out) {
      auto st = unbuffered_ ? unbuffered_->pop(out) : buffered_->pop(out);
      return st == bf::channel_op_status::success;
    }
    void close() { unbuffered_ ? unbuffered_->close() : buffered_->close(); }

    // For select2: a non-blocking receive (buffered channels only; Boost's unbuffered channel
    // has none).
    bf::channel_op_status try_recv(T& out) { return buffered_->try_pop(out); }
    bool buffered() const { return buffered_ != nullptr; }

   private:
    std::unique_ptr<bf::unbuffered_channel<T>> unbuffered_;
    std::unique_ptr<bf::buffered_channel<T>> buffered_;
  };

  // Boost.Fiber has no select: poll both channels and yield while both are empty, which is
  // what its users do. A closed channel is dropped from the poll. After each value the poll
  // starts at the other channel, so that neither is preferred (Go's select picks among the
  // ready cases at random); always starting at the first costs about 20% here.
  template <class T>
  class select2 {
   public:
    select2(chan<T>& a, chan<T>& b) : c_{&a, &b} {
      peers::require(a.buffered() && b.buffered(), "select2", "needs buffered channels");
    }

    int recv(T& out) {
      while (c_[0] != nullptr || c_[1] != nullptr) {
        for (int k = 0; k < 2; k++) {
          const int i = first_ ^ k;
          if (c_[i] == nullptr) continue;
          const bf::channel_op_status st = c_[i]->try_recv(out);
          if (st == bf::channel_op_status::success) {
            first_ ^= 1;
            return i;
          }
          if (st == bf::channel_op_status::closed) c_[i] = nullptr;
        }
        boost::this_fiber::yield();
      }
      return -1;
    }

   private:
    chan<T>* c_[2];
    int first_ = 0;
  };

  // An atomic count; the last done() wakes the waiter through a fiber mutex and condition.
  class wait_group {
   public:
    void add(int k) { count_.fetch_add(k); }
    void done() {
      if (count_.fetch_sub(1) == 1) {
        std::unique_lock<bf::mutex> lk(mu_);
        cv_.notify_all();
      }
    }
    void wait() {
      std::unique_lock<bf::mutex> lk(mu_);
      cv_.wait(lk, [&] { return count_.load() == 0; });
    }

   private:
    std::atomic<peers::i64> count_{0};
    bf::mutex mu_;
    bf::condition_variable cv_;
  };

  template <class F>
  static void go(F&& f) {
    bf::fiber(std::forward<F>(f)).detach();
  }
  static void sleep_ms(int ms) { boost::this_fiber::sleep_for(std::chrono::milliseconds(ms)); }
};

// Parks the helper threads' main fibers until the workload is over, so that their schedulers
// keep taking part in work stealing meanwhile.
struct helpers_gate {
  bf::mutex mu;
  bf::condition_variable cv;
  bool over = false;
};

void install(bool shared, int threads) {
  if (shared) {
    bf::use_scheduling_algorithm<bf::algo::shared_work>();
  } else {
    bf::use_scheduling_algorithm<bf::algo::work_stealing>(static_cast<std::uint32_t>(threads));
  }
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  if (const char* s = std::getenv("FIBER_THREADS")) {
    threads = std::atoi(s);
    if (threads < 1) {
      std::fprintf(stderr, "%s: bad FIBER_THREADS '%s'\n", argv[0], s);
      return 2;
    }
  }
  const char* sched_env = std::getenv("FIBER_SCHED");
  const bool shared = sched_env != nullptr && std::strcmp(sched_env, "shared") == 0;
  const char* sched = threads == 1 ? "round_robin" : shared ? "shared_work" : "work_stealing";

  const std::vector<peers::workload> table = peers::channel_workloads<fiber_rt>();
  helpers_gate gate;
  std::vector<std::thread> helpers;
  if (threads > 1) {
    for (int t = 1; t < threads; t++) {
      helpers.emplace_back([&] {
        install(shared, threads);
        std::unique_lock<bf::mutex> lk(gate.mu);
        gate.cv.wait(lk, [&] { return gate.over; });
      });
    }
    install(shared, threads);
  }
  const int rc = peers::main(
      argc, argv, table, std::string(" sched=") + sched + " threads=" + std::to_string(threads));
  {
    std::unique_lock<bf::mutex> lk(gate.mu);
    gate.over = true;
  }
  gate.cv.notify_all();
  for (std::thread& t : helpers) t.join();
  return rc;
}
