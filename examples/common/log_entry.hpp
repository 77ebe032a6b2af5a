// The log entry of seed programs 7-9 (the tutorial's logger) and how the logger prints it.
#pragma once

#include <chrono>
#include <ctime>
#include <string>
#include <string_view>

#include "common/print.hpp"

namespace examples {

inline constexpr std::string_view log_info = "INFO";
inline constexpr std::string_view log_warning = "WARNING";
inline constexpr std::string_view log_error = "ERROR";

// Go: type logEntry struct { time time.Time; severity string; message string }
struct log_entry {
  std::chrono::system_clock::time_point time;
  std::string_view severity;
  std::string message;
};

// Go: fmt.Printf(" %v - [%v] %v\n", entry.time.Format("2006-01-02T15:04:05Z"), ...)
// In Go's layout the lone "Z" is a literal letter, not a zone, so Go prints local time
// followed by "Z"; this does the same.
inline void print_entry(const log_entry& entry) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(entry.time);
  std::tm local{};
  localtime_r(&seconds, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &local);
  std::string line = " ";
  line.append(stamp).append(" - [").append(entry.severity).append("] ").append(entry.message);
  write_line(std::move(line));
}

}  // namespace examples
