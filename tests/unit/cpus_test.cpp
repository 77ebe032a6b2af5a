// The default max_procs (src/base/cpus.hpp): the parsers of /proc/self/cgroup, mountinfo,
// cpu.max and the v1 CFS files on strings; the cgroup walk on a fake tree; Go 1.25's rounding;
// and the runtime's own choice in a child run under taskset.
#include "base/cpus.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace goro::detail;

// ---- Parsers --------------------------------------------------------------------------------

TEST(cpus_parse_test, ProcSelfCgroupV2) {
  const auto at = parse_proc_cgroup("0::/user.slice/user-1000.slice/session-2.scope\n");
  ASSERT_TRUE(at);
  EXPECT_FALSE(at->v1);
  EXPECT_EQ(at->path, "/user.slice/user-1000.slice/session-2.scope");
}

// Hybrid mode: the cpu controller is on the v1 side, so that line wins over the v2 one.
TEST(cpus_parse_test, ProcSelfCgroupV1CpuControllerWins) {
  const auto at = parse_proc_cgroup(
      "12:pids:/a\n"
      "4:cpu,cpuacct:/docker/abc\n"
      "3:cpuset:/x\n"
      "1:name=systemd:/docker/abc\n"
      "0::/docker/abc\n");
  ASSERT_TRUE(at);
  EXPECT_TRUE(at->v1);
  EXPECT_EQ(at->path, "/docker/abc");
  // "cpuacct" or "cpuset" alone is not the cpu controller.
  const auto v2 = parse_proc_cgroup("2:cpuacct:/a\n3:cpuset:/b\n0::/c");
  ASSERT_TRUE(v2);
  EXPECT_FALSE(v2->v1);
  EXPECT_EQ(v2->path, "/c");
  EXPECT_FALSE(parse_proc_cgroup("2:cpuacct:/a\n"));
  EXPECT_FALSE(parse_proc_cgroup(""));
  // The path is everything after the second colon.
  EXPECT_EQ(parse_proc_cgroup("0::/odd:name")->path, "/odd:name");
}

TEST(cpus_parse_test, MountinfoFindsEachHierarchy) {
  const std::string info =
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
      "32 31 0:29 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup "
      "rw,cpu,cpuacct\n"
      "41 31 0:38 / /sys/fs/cgroup/my\\040unified rw,relatime shared:1 master:2 - cgroup2 "
      "cgroup2 rw\n";
  const auto v1 = parse_mountinfo(info, true);
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->root, "/docker/abc");
  EXPECT_EQ(v1->point, "/sys/fs/cgroup/cpu,cpuacct");
  const auto v2 = parse_mountinfo(info, false);
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->root, "/");
  EXPECT_EQ(v2->point, "/sys/fs/cgroup/my unified");
  EXPECT_FALSE(parse_mountinfo("31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n", false));
  EXPECT_FALSE(parse_mountinfo("garbage\n", true));
}

TEST(cpus_parse_test, CgroupDirUnderTheMount) {
  const cgroup_mount all{"/", "/sys/fs/cgroup"};
  EXPECT_EQ(cgroup_dir(all, "/"), "/sys/fs/cgroup");
  EXPECT_EQ(cgroup_dir(all, "/a/b"), "/sys/fs/cgroup/a/b");
  // A container without a cgroup namespace: the mount shows its own cgroup at the mount point.
  const cgroup_mount mine{"/docker/abc", "/sys/fs/cgroup"};
  EXPECT_EQ(cgroup_dir(mine, "/docker/abc"), "/sys/fs/cgroup");
  EXPECT_EQ(cgroup_dir(mine, "/docker/abc/sub"), "/sys/fs/cgroup/sub");
  EXPECT_FALSE(cgroup_dir(mine, "/docker/abcdef"));
  EXPECT_FALSE(cgroup_dir(mine, "/other"));
}

TEST(cpus_parse_test, CpuMax) {
  EXPECT_FALSE(parse_cpu_max("max 100000\n"));
  EXPECT_FALSE(parse_cpu_max("max\n"));
  EXPECT_EQ(parse_cpu_max("150000 100000\n"), 1.5);
  EXPECT_EQ(parse_cpu_max("200000 100000"), 2.0);
  EXPECT_EQ(parse_cpu_max("50000 100000\n"), 0.5);
  EXPECT_EQ(parse_cpu_max("300000"), 3.0);  // the kernel's default period
  EXPECT_FALSE(parse_cpu_max(""));
  EXPECT_FALSE(parse_cpu_max("abc 100000"));
  EXPECT_FALSE(parse_cpu_max("100000 0"));
  EXPECT_FALSE(parse_cpu_max("1 2 3"));
}

TEST(cpus_parse_test, CfsQuotaAndPeriod) {
  EXPECT_FALSE(parse_cfs("-1\n", "100000\n"));
  EXPECT_EQ(parse_cfs("50000\n", "100000\n"), 0.5);
  EXPECT_EQ(parse_cfs("250000", "100000"), 2.5);
  EXPECT_FALSE(parse_cfs("", "100000"));
  EXPECT_FALSE(parse_cfs("50000", "x"));
  EXPECT_FALSE(parse_cfs("50000", "0"));
}

// Go 1.25: the limit rounded up, at least 2, never above the affinity count.
TEST(cpus_parse_test, ProcsForFollowsGo) {
  EXPECT_EQ(procs_for(8, std::nullopt), 8u);
  EXPECT_EQ(procs_for(8, 1.5), 2u);
  EXPECT_EQ(procs_for(8, 0.5), 2u);
  EXPECT_EQ(procs_for(8, 2.0), 2u);
  EXPECT_EQ(procs_for(8, 3.2), 4u);
  EXPECT_EQ(procs_for(8, 16.0), 8u);
  EXPECT_EQ(procs_for(1, 0.5), 1u);
  EXPECT_EQ(procs_for(1, 4.0), 1u);
}

// ---- The cgroup walk, on a fake tree ---------------------------------------------------------

class fake_root : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/goro_cpus_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }
  void put(const std::string& path, const std::string& text) {
    const fs::path p = fs::path(root_) / path;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  std::string root_;
};

const char* const v2_mount = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n";

// The smallest limit from the leaf up to the mount point bounds the process.
TEST_F(fake_root, V2TakesTheSmallestLimitOnTheWayUp) {
  put("proc/self/cgroup", "0::/kubepods/pod1/ctr\n");
  put("proc/self/mountinfo", v2_mount);
  put("sys/fs/cgroup/kubepods/pod1/ctr/cpu.max", "max 100000\n");
  put("sys/fs/cgroup/kubepods/pod1/cpu.max", "250000 100000\n");
  put("sys/fs/cgroup/kubepods/cpu.max", "400000 100000\n");
  EXPECT_EQ(cgroup_cpu_limit(root_), 2.5);
}

TEST_F(fake_root, V2LeafLimit) {
  put("proc/self/cgroup", "0::/a\n");
  put("proc/self/mountinfo", v2_mount);
  put("sys/fs/cgroup/a/cpu.max", "150000 100000\n");
  put("sys/fs/cgroup/cpu.max", "max 100000\n");
  EXPECT_EQ(cgroup_cpu_limit(root_), 1.5);
}

TEST_F(fake_root, V2NoLimitAnywhere) {
  put("proc/self/cgroup", "0::/a/b\n");
  put("proc/self/mountinfo", v2_mount);
  put("sys/fs/cgroup/a/b/cpu.max", "max 100000\n");  // a/ has no cpu.max: controller off there
  EXPECT_EQ(cgroup_cpu_limit(root_), std::nullopt);
}

// Without a cgroup namespace the mount shows the container's own cgroup at its mount point,
// and the walk stops there (what is above is not visible).
TEST_F(fake_root, V2MountRootIsTheContainersCgroup) {
  put("proc/self/cgroup", "0::/docker/abc\n");
  put("proc/self/mountinfo", "30 23 0:26 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
  put("sys/fs/cgroup/cpu.max", "50000 100000\n");
  EXPECT_EQ(cgroup_cpu_limit(root_), 0.5);
}

TEST_F(fake_root, V1CfsInHybridMode) {
  put("proc/self/cgroup", "4:cpu,cpuacct:/grp/sub\n1:name=systemd:/\n0::/\n");
  put("proc/self/mountinfo",
      "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
  put("sys/fs/cgroup/cpu,cpuacct/grp/sub/cpu.cfs_quota_us", "-1\n");
  put("sys/fs/cgroup/cpu,cpuacct/grp/sub/cpu.cfs_period_us", "100000\n");
  put("sys/fs/cgroup/cpu,cpuacct/grp/cpu.cfs_quota_us", "350000\n");
  put("sys/fs/cgroup/cpu,cpuacct/grp/cpu.cfs_period_us", "100000\n");
  put("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  put("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  put("sys/fs/cgroup/unified/cpu.max", "100000 100000\n");  // not the cpu controller's side
  EXPECT_EQ(cgroup_cpu_limit(root_), 3.5);
}

TEST_F(fake_root, MissingFilesMeanNoLimit) {
  EXPECT_EQ(cgroup_cpu_limit(root_), std::nullopt);
  put("proc/self/cgroup", "0::/a\n");
  EXPECT_EQ(cgroup_cpu_limit(root_), std::nullopt);  // no mountinfo
  put("proc/self/mountinfo", "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n");
  EXPECT_EQ(cgroup_cpu_limit(root_), std::nullopt);  // no cgroup2 mount
}

// ---- This machine ----------------------------------------------------------------------------

TEST(cpus_test, AffinityCountsTheMask) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  EXPECT_EQ(affinity_cpus(), static_cast<unsigned>(CPU_COUNT(&set)));
  EXPECT_GE(default_procs(), 1u);
  EXPECT_LE(default_procs(), affinity_cpus());
}

// Runs `argv` with this environment minus GORO_MAXPROCS, plus `extra_env`; returns its stdout,
// or "exit N" if it did not exit with 0.
std::string run_child(std::vector<std::string> argv, const std::vector<std::string>& extra_env) {
  std::vector<std::string> env_strings = extra_env;
  for (char** e = environ; *e; ++e)
    if (std::string(*e).rfind("GORO_MAXPROCS=", 0) != 0) env_strings.push_back(*e);
  std::vector<char*> envp, args;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return "pipe failed";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  std::string out;
  char buf[256];
  for (ssize_t n; rc == 0 && (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  close(fds[0]);
  if (rc != 0) return "cannot start " + argv[0];
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return "exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return out;
}

// The CPUs this process may run on, lowest first.
std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

bool have_taskset() { return access("/usr/bin/taskset", X_OK) == 0; }

// The runtime's own choice (goro::max_procs() in a child): one CPU allowed, one worker.
TEST(default_procs_test, TasksetOneCpuGivesOneWorker) {
  if (!have_taskset()) GTEST_SKIP() << "no taskset";
  const auto cpus = allowed_cpus();
  ASSERT_FALSE(cpus.empty());
  EXPECT_EQ(run_child({"taskset", "-c", std::to_string(cpus[0]), GORO_MAX_PROCS_PROG}, {}), "1\n");
}

// Two CPUs: 2 whatever the cgroup says (its limit counts as at least 2).
TEST(default_procs_test, TasksetTwoCpusGivesTwoWorkers) {
  if (!have_taskset()) GTEST_SKIP() << "no taskset";
  const auto cpus = allowed_cpus();
  if (cpus.size() < 2) GTEST_SKIP() << "fewer than 2 CPUs allowed";
  const std::string list = std::to_string(cpus[0]) + "," + std::to_string(cpus[1]);
  EXPECT_EQ(run_child({"taskset", "-c", list, GORO_MAX_PROCS_PROG}, {}), "2\n");
}

// $GORO_MAXPROCS wins over the affinity, as $GOMAXPROCS does in Go.
TEST(default_procs_test, GoroMaxprocsWinsOverTheAffinity) {
  if (!have_taskset()) GTEST_SKIP() << "no taskset";
  const auto cpus = allowed_cpus();
  ASSERT_FALSE(cpus.empty());
  EXPECT_EQ(run_child({"taskset", "-c", std::to_string(cpus[0]), GORO_MAX_PROCS_PROG},
                      {"GORO_MAXPROCS=3"}),
            "3\n");
}

TEST(default_procs_test, WithoutTasksetTheDefaultIsThisProcesssCount) {
  EXPECT_EQ(run_child({GORO_MAX_PROCS_PROG}, {}), std::to_string(default_procs()) + "\n");
}

}  // namespace
