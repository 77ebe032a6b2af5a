// read_full and the buffered reader (Go's io.ReadFull and the common uses of bufio.Reader).
//
// Invariants: buf_[begin_, end_) holds the bytes read from the conn and not yet returned;
// begin_ <= end_ <= buf_.size(). read_line() moves them to the front before it reads more, and
// grows buf_ (up to max_line plus the "\r\n") only when a line fills it.
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "net/net.hpp"

namespace goro::net {

namespace {
[[noreturn]] void too_long(std::size_t max_line) {
  throw std::length_error("goro::net::reader::read_line: line longer than " +
                          std::to_string(max_line) + " bytes");
}
}  // namespace

std::size_t read_full(conn& c, void* buf, std::size_t n, goro::source_location where) {
  auto* p = static_cast<char*>(buf);
  std::size_t got = 0;
  while (got < n) {
    const std::size_t r = c.read(p + got, n - got, where);
    if (r == 0) break;
    got += r;
  }
  return got;
}

reader::reader(conn& c, std::size_t size) : c_(&c), buf_(std::max<std::size_t>(size, 16), '\0') {}

std::size_t reader::read(void* buf, std::size_t n, goro::source_location where) {
  if (n == 0) return 0;
  if (begin_ == end_) {
    // Nothing buffered: a large read goes straight to the caller's buffer.
    if (n >= buf_.size()) return c_->read(buf, n, where);
    begin_ = 0;
    end_ = c_->read(buf_.data(), buf_.size(), where);
    if (end_ == 0) return 0;
  }
  const std::size_t k = std::min(n, end_ - begin_);
  std::memcpy(buf, buf_.data() + begin_, k);
  begin_ += k;
  return k;
}

std::optional<std::string> reader::read_line(std::size_t max_line, goro::source_location where) {
  std::size_t scanned = begin_;  // no '\n' in [begin_, scanned)
  for (;;) {
    const char* start = buf_.data() + scanned;
    if (const void* nl = std::memchr(start, '\n', end_ - scanned)) {
      const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.data());
      std::size_t len = at - begin_;
      if (len > 0 && buf_[at - 1] == '\r') --len;
      if (len > max_line) {
        begin_ = at + 1;
        too_long(max_line);
      }
      std::string line(buf_.data() + begin_, len);
      begin_ = at + 1;
      return line;
    }
    scanned = end_;
    if (end_ - begin_ > max_line + 1) {
      // Too long already, even if "\r\n" came next: drop the line up to its "\n" (reading on
      // until it comes), so that the next call starts at the next line, then throw.
      begin_ = end_ = 0;
      for (;;) {
        const std::size_t r = c_->read(buf_.data(), buf_.size(), where);
        if (r == 0) too_long(max_line);
        if (const void* nl = std::memchr(buf_.data(), '\n', r)) {
          begin_ = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.data()) + 1;
          end_ = r;
          too_long(max_line);
        }
      }
    }
    // Make room: move the partial line to the front, then grow if it fills the buffer.
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      scanned = end_;
      begin_ = 0;
    }
    if (end_ == buf_.size()) buf_.resize(std::min(buf_.size() * 2, max_line + 2));
    const std::size_t r = c_->read(buf_.data() + end_, buf_.size() - end_, where);
    if (r == 0) {  // end of stream: the last line without its "\n", then nothing
      if (begin_ == end_) return std::nullopt;
      if (end_ - begin_ > max_line) {
        begin_ = end_ = 0;
        too_long(max_line);
      }
      std::string line(buf_.data() + begin_, end_ - begin_);
      begin_ = end_ = 0;
      return line;
    }
    end_ += r;
  }
}

}  // namespace goro::net
