// src/base: std::mutex as clang's thread-safety analysis sees it, and a scoped guard for any
// capability. libstdc++'s std::mutex and std::lock_guard carry no annotations, so code that
// locks them through the standard names gives the analysis nothing to check.
#pragma once

#include <mutex>

#include "goro/detail/thread_annotations.hpp"

namespace goro::detail {

// A lock held across blocking calls (starting threads), where a spinlock would make the others
// spin: std::mutex, annotated.
class GORO_CAPABILITY("mutex") os_mutex {
 public:
  void lock() GORO_ACQUIRE() { m_.lock(); }
  void unlock() GORO_RELEASE() { m_.unlock(); }

 private:
  std::mutex m_;
};

// std::lock_guard, annotated: holds m from construction to destruction.
template <class M>
class GORO_SCOPED_CAPABILITY lock_guard {
 public:
  explicit lock_guard(M& m) GORO_ACQUIRE(m) : m_(m) { m_.lock(); }
  ~lock_guard() GORO_RELEASE() { m_.unlock(); }
  lock_guard(const lock_guard&) = delete;
  lock_guard& operator=(const lock_guard&) = delete;

 private:
  M& m_;
};

}  // namespace goro::detail
