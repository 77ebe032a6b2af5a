// A worker pool: three workers take jobs from one channel and send results to another. Which
// worker runs which job, and the order results arrive in, vary from run to run; main sorts the
// results by job before printing them.
#include <algorithm>
#include <goro/goro.hpp>
#include <vector>

#include "common/print.hpp"

struct result {
  int job;
  int value;
};

// Runs jobs until the jobs channel is closed and drained.
void worker(goro::recv_chan<int> jobs, goro::send_chan<result> results) {
  for (int job : jobs) {
    results.send({job, job * job});
  }
}

int main() {
  return goro::run([] {
    constexpr int num_jobs = 9;
    constexpr int num_workers = 3;
    auto jobs = goro::make_chan<int>(num_jobs);
    auto results = goro::make_chan<result>(num_jobs);

    goro::wait_group workers;
    workers.add(num_workers);
    for (int w = 0; w < num_workers; ++w) {
      goro::go([jobs, results, &workers] {
        worker(jobs, results);
        workers.done();
      });
    }
    // Closes `results` once every worker has returned, so the range-for below ends.
    goro::go([results, &workers] {
      workers.wait();
      results.close();
    });

    for (int job = 1; job <= num_jobs; ++job) {
      jobs.send(job);
    }
    jobs.close();  // no more jobs: the workers' range-for ends once the channel is drained

    std::vector<result> collected;
    for (result r : results) {
      collected.push_back(r);
    }
    std::sort(collected.begin(), collected.end(),
              [](const result& a, const result& b) { return a.job < b.job; });
    for (const result& r : collected) {
      examples::println("job", r.job, "->", r.value);
    }
    examples::println(collected.size(), "results from", num_workers, "workers");
  });
}
