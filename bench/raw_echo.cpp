// raw-echo ADDR: the floor for net/run.sh's echo comparison. One thread, one epoll instance,
// edge-triggered, no runtime: per round trip it makes the fewest system calls an echo server
// can (a read that returns the message, a write, and a share of one epoll_wait), so its CPU per
// op is what the kernel costs. goro-echo and Go's server pay that plus their own work; the
// difference between them can only come out of what is above this floor. IPv4 "HOST:PORT" only.
//
// `raw-echo --idle-thread ADDR` starts a second thread that only sleeps. The same loop then
// pays what the kernel charges any process with more than one thread: each system call on a
// descriptor takes and drops a reference to its file (a single-threaded process skips both),
// and glibc's read and send arm their cancellation points. It is the floor for a server that
// has a runtime's second thread (goro's monitor, Go's sysmon).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);  // NOLINT(concurrency-mt-unsafe): one thread, and the end of it
}

// Writes all n bytes. A full send buffer (rare: the peer reads as fast as it writes) waits in
// poll(2) on this one socket, which stalls the others for that while: a floor, not a server.
void send_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= static_cast<std::size_t>(w);
    } else if (w < 0 && errno == EAGAIN) {
      pollfd pf{fd, POLLOUT, 0};
      poll(&pf, 1, -1);
    } else {
      return;  // the peer is gone: the read side will see it
    }
  }
}

struct conn_state {
  int fd;
};

}  // namespace

int main(int argc, char** argv) {
  const bool idle_thread = argc == 3 && std::string_view(argv[1]) == "--idle-thread";
  if (argc != 2 && !idle_thread) {
    std::fprintf(stderr, "usage: raw-echo [--idle-thread] HOST:PORT\n");
    return 2;
  }
  const std::string addr = argv[argc - 1];
  if (idle_thread) {
    std::thread([] {
      for (;;) pause();  // never woken: a signal that ends the process ends it
    }).detach();
  }
  const auto colon = addr.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::atoi(addr.c_str() + colon + 1)));
  if (inet_pton(AF_INET, addr.substr(0, colon).c_str(), &sa.sin_addr) != 1) die("address");
  const int ln = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(ln, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(ln, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("bind");
  if (listen(ln, 65535) != 0) die("listen");
  std::printf("listening %s\n", addr.c_str());
  std::fflush(stdout);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the listener
  epoll_ctl(ep, EPOLL_CTL_ADD, ln, &ev);
  std::vector<char> buf(16 << 10);
  epoll_event events[128];
  for (;;) {
    const int n = epoll_wait(ep, events, 128, -1);
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<conn_state*>(events[i].data.ptr);
      if (!c) {
        for (;;) {
          const int fd = accept4(ln, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          auto* st = new conn_state{fd};
          epoll_event cev{};
          cev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
          cev.data.ptr = st;
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      const bool hup = events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR);
      for (;;) {  // read until short (the queue is empty then), echoing as it goes
        const ssize_t r = read(c->fd, buf.data(), buf.size());
        if (r > 0) {
          send_all(c->fd, buf.data(), static_cast<std::size_t>(r));
          // Short: the queue is empty, and new data raises a new edge; unless the peer hung up,
          // when the read may have taken the FIN too and the next one returns 0 at once.
          if (static_cast<std::size_t>(r) < buf.size() && !hup) break;
          continue;
        }
        if (r < 0 && errno == EAGAIN) break;
        close(c->fd);  // end of stream or an error
        delete c;
        break;
      }
    }
  }
}
