// fd_count.hpp: open_fds(), the descriptors this process holds now, for the tests that check
// that nothing leaked a descriptor (net_test and its client process, net_clients_prog).
#pragma once

#include <dirent.h>

namespace goro_test {

inline int open_fds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
    n -= 3;  // ".", ".." and the directory's own descriptor
  }
  return n;
}

}  // namespace goro_test
