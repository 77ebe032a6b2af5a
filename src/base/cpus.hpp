// src/base: how many CPUs this process may use, for the default max_procs: the CPUs of its
// affinity mask, capped by the CPU bandwidth limit (quota / period) of its cgroup, as Go 1.25
// chooses GOMAXPROCS. The files' parsers are pure functions of their text, so that tests feed
// them strings (tests/unit/cpus_test.cpp); cgroup_cpu_limit() reads below a root directory, so
// that tests give it a fake tree.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace goro::detail {

// The default max_procs: procs_for(affinity_cpus(), cgroup_cpu_limit()); at least 1. Falls back
// to std::thread::hardware_concurrency() when the affinity mask cannot be read.
unsigned default_procs() noexcept;

// The CPUs in the calling thread's affinity mask (sched_getaffinity with a set sized for any
// number of CPUs, not the fixed 1,024 of cpu_set_t); 0 if it cannot be read.
unsigned affinity_cpus() noexcept;

// Go 1.25's rule: the affinity CPUs, lowered to the cgroup limit when there is one, the limit
// rounded up to whole CPUs and taken as at least 2 (so a quota of 0.5 CPU gives 2, unless the
// affinity allows 1).
unsigned procs_for(unsigned cpus, std::optional<double> limit) noexcept;

// The CPU bandwidth limit of the cgroup this process is in, in CPUs (quota / period): the
// smallest of its own and its ancestors' that the cgroup mount shows; nullopt when there is none
// or it cannot be read. cgroup v1's cpu controller wins over v2 when /proc/self/cgroup names both
// (hybrid mode: the controller is on the v1 side). Every path read is prefixed with `root`
// ("" for the real files).
std::optional<double> cgroup_cpu_limit(const std::string& root = "");

// ---- The parsers ----------------------------------------------------------------------------

// Which cgroup the process is in, from /proc/self/cgroup: the v1 line whose controllers include
// "cpu" ("4:cpu,cpuacct:/a/b"), else the v2 line ("0::/a/b"); nullopt when neither is there.
struct cgroup_location {
  std::string path;
  bool v1 = false;
};
std::optional<cgroup_location> parse_proc_cgroup(std::string_view text);

// Where that hierarchy is mounted, from /proc/self/mountinfo: the first mount of type "cgroup"
// with "cpu" among its super options (v1), or of type "cgroup2" (v2). `root` is the cgroup the
// mount shows at its mount point, `point` the mount point; octal escapes (\040) are decoded.
struct cgroup_mount {
  std::string root;
  std::string point;
};
std::optional<cgroup_mount> parse_mountinfo(std::string_view text, bool v1);

// The directory of cgroup `path` under mount `m`, or nullopt when the mount does not show it
// (path is not `m.root` or below it).
std::optional<std::string> cgroup_dir(const cgroup_mount& m, std::string_view path);

// cgroup v2's cpu.max: "max 100000" (no limit) -> nullopt, "150000 100000" -> 1.5 CPUs; a
// missing period is the kernel's default, 100000. Malformed text -> nullopt.
std::optional<double> parse_cpu_max(std::string_view text);

// cgroup v1's cpu.cfs_quota_us and cpu.cfs_period_us: quota "-1" (no limit) -> nullopt,
// "50000" and "100000" -> 0.5 CPUs. Malformed text -> nullopt.
std::optional<double> parse_cfs(std::string_view quota, std::string_view period);

}  // namespace goro::detail
