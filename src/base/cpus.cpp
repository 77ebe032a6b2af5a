// The default processor count (see cpus.hpp): the affinity mask, capped by the cgroup's CPU
// bandwidth limit. Runs once, when the runtime starts; nothing here is shared state.
//
// Decisions:
//  - Go 1.25's rounding: the limit rounded up, at least 2, never above the affinity count.
//  - The limit is the smallest along the cgroup's ancestors within the mount, not the leaf's
//    alone as Go 1.25 reads it: a parent's quota bounds its children too (Go's source says so
//    and accepts the gap because container runtimes hide the parents anyway).
//  - Read once at start. Go 1.25 also re-reads the limit and the affinity periodically and
//    updates GOMAXPROCS; goro does not (a later run() may set max_procs instead).
#include "base/cpus.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <thread>
#include <vector>

namespace goro::detail {

namespace {

// The whole file, or nullopt if it cannot be opened.
std::optional<std::string> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

// The whitespace-separated fields of `s`.
std::vector<std::string_view> fields_of(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) i++;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') i++;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// Calls f(line) for each line of `text` (without its '\n').
template <class F>
void for_each_line(std::string_view text, F f) {
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    f(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

// The whole of `s` as a decimal integer (an optional leading '-').
std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// mountinfo escapes space, tab, newline and backslash in paths as \ooo (octal).
std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); i++) {
    const auto octal = [&](std::size_t k) { return s[k] >= '0' && s[k] <= '7'; };
    if (s[i] == '\\' && i + 3 < s.size() && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The limit in directory `dir`: cpu.max (v2), or cpu.cfs_quota_us over cpu.cfs_period_us (v1).
std::optional<double> limit_in(const std::string& dir, bool v1) {
  if (!v1) {
    const auto max = read_file(dir + "/cpu.max");
    return max ? parse_cpu_max(*max) : std::nullopt;
  }
  const auto quota = read_file(dir + "/cpu.cfs_quota_us");
  const auto period = read_file(dir + "/cpu.cfs_period_us");
  return quota && period ? parse_cfs(*quota, *period) : std::nullopt;
}

}  // namespace

std::optional<cgroup_location> parse_proc_cgroup(std::string_view text) {
  std::optional<cgroup_location> v1, v2;
  for_each_line(text, [&](std::string_view line) {
    // hierarchy-id:controller-list:path (the path may itself contain ':').
    const std::size_t a = line.find(':');
    if (a == std::string_view::npos) return;
    const std::size_t b = line.find(':', a + 1);
    if (b == std::string_view::npos) return;
    const std::string_view id = line.substr(0, a);
    const std::string_view controllers = line.substr(a + 1, b - a - 1);
    const std::string_view path = line.substr(b + 1);
    if (id == "0" && controllers.empty()) {
      if (!v2) v2 = cgroup_location{std::string(path), false};
      return;
    }
    for (std::string_view rest = controllers; !rest.empty();) {
      const std::size_t comma = rest.find(',');
      if (rest.substr(0, comma) == "cpu") {
        if (!v1) v1 = cgroup_location{std::string(path), true};
        return;
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  });
  return v1 ? v1 : v2;
}

std::optional<cgroup_mount> parse_mountinfo(std::string_view text, bool v1) {
  std::optional<cgroup_mount> found;
  for_each_line(text, [&](std::string_view line) {
    if (found) return;
    // id parent major:minor root point options [optional...] - fstype source super-options
    const auto f = fields_of(line);
    const auto dash = std::find(f.begin(), f.end(), std::string_view("-"));
    if (f.size() < 6 || dash == f.end() || f.end() - dash < 3 || dash - f.begin() < 6) return;
    const std::string_view fstype = dash[1];
    if (!v1 && fstype != "cgroup2") return;
    if (v1) {
      if (fstype != "cgroup") return;
      bool cpu = false;
      for (std::string_view rest = dash[3]; !rest.empty() && !cpu;) {
        const std::size_t comma = rest.find(',');
        cpu = rest.substr(0, comma) == "cpu";
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      if (!cpu) return;
    }
    found = cgroup_mount{unescape(f[3]), unescape(f[4])};
  });
  return found;
}

std::optional<std::string> cgroup_dir(const cgroup_mount& m, std::string_view path) {
  std::string_view rel;
  if (m.root == "/") {
    rel = path;
  } else if (path == m.root) {
    rel = "";
  } else if (path.size() > m.root.size() && path.substr(0, m.root.size()) == m.root &&
             path[m.root.size()] == '/') {
    rel = path.substr(m.root.size());
  } else {
    return std::nullopt;  // the cgroup is outside what this mount shows
  }
  if (rel == "/") rel = "";
  return m.point + std::string(rel);
}

std::optional<double> parse_cpu_max(std::string_view text) {
  const auto f = fields_of(text);
  if (f.empty() || f.size() > 2 || f[0] == "max") return std::nullopt;
  const auto quota = to_int(f[0]);
  const auto period = f.size() == 2 ? to_int(f[1]) : std::optional<std::int64_t>(100000);
  if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

std::optional<double> parse_cfs(std::string_view quota_text, std::string_view period_text) {
  const auto q = fields_of(quota_text);
  const auto p = fields_of(period_text);
  if (q.size() != 1 || p.size() != 1) return std::nullopt;
  const auto quota = to_int(q[0]);
  const auto period = to_int(p[0]);
  // A quota of -1 is "no limit"; any other non-positive value is not one the kernel writes.
  if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

std::optional<double> cgroup_cpu_limit(const std::string& root) {
  const auto self = read_file(root + "/proc/self/cgroup");
  if (!self) return std::nullopt;
  const auto where = parse_proc_cgroup(*self);
  if (!where) return std::nullopt;
  const auto mountinfo = read_file(root + "/proc/self/mountinfo");
  if (!mountinfo) return std::nullopt;
  const auto mount = parse_mountinfo(*mountinfo, where->v1);
  if (!mount) return std::nullopt;
  const auto leaf = cgroup_dir(*mount, where->path);
  if (!leaf) return std::nullopt;
  // From the leaf up to the mount point: the smallest limit on the way bounds the process.
  std::optional<double> limit;
  std::string dir = *leaf;
  for (;;) {
    if (const auto here = limit_in(root + dir, where->v1))
      limit = limit ? std::min(*limit, *here) : *here;
    if (dir.size() <= mount->point.size()) break;
    const std::size_t slash = dir.rfind('/');
    if (slash == std::string::npos || slash < mount->point.size()) break;
    dir.resize(slash);
  }
  return limit;
}

unsigned procs_for(unsigned cpus, std::optional<double> limit) noexcept {
  if (!limit) return cpus;
  const double whole = std::max(2.0, std::ceil(*limit));
  return whole < static_cast<double>(cpus) ? static_cast<unsigned>(whole) : cpus;
}

unsigned affinity_cpus() noexcept {
  // Doubling the set until the kernel's mask fits (EINVAL: the set is smaller than its mask).
  for (int ncpus = 1024; ncpus <= (1 << 22); ncpus *= 2) {
    cpu_set_t* set = CPU_ALLOC(ncpus);
    if (!set) return 0;
    const std::size_t size = CPU_ALLOC_SIZE(ncpus);
    CPU_ZERO_S(size, set);
    const int rc = sched_getaffinity(0, size, set);
    const int err = errno;
    const int count = rc == 0 ? CPU_COUNT_S(size, set) : 0;
    CPU_FREE(set);
    if (rc == 0) return static_cast<unsigned>(count);
    if (err != EINVAL) return 0;
  }
  return 0;
}

unsigned default_procs() noexcept {
  unsigned cpus = affinity_cpus();
  if (!cpus) cpus = std::thread::hardware_concurrency();
  if (!cpus) cpus = 1;
  try {
    return std::max(1u, procs_for(cpus, cgroup_cpu_limit()));
  } catch (...) {  // std::bad_alloc while reading: no limit known
    return cpus;
  }
}

}  // namespace goro::detail
