// Line-at-a-time output for the examples.
//
// Goroutines run on several worker threads, so two of them may print at the same moment. Each
// line is built in memory first and handed to stdio in one fwrite: POSIX stdio locks the FILE
// for the whole call, so a line is never split by another goroutine's output. The flush right
// after keeps the order lines were written in when stdout is a pipe (as under ctest), and means
// nothing is lost when a program ends without running static destructors.
#pragma once

#include <cstdio>
#include <sstream>
#include <string>
#include <utility>

namespace examples {

// Writes `line` and a newline to stdout in a single write, then flushes.
inline void write_line(std::string line) {
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

// Go's fmt.Println: the operands separated by single spaces, on one line.
template <class... Args>
void println(const Args&... args) {
  std::ostringstream out;
  out << std::boolalpha;  // Go prints bools as true/false
  const char* separator = "";
  ((out << separator << args, separator = " "), ...);
  write_line(std::move(out).str());
}

}  // namespace examples
