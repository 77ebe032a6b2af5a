// Compile-failure test (clang only): goro::mutex is a capability for clang's thread-safety
// analysis, so a user's own guarded_by annotation on a goro::mutex is checked. check.cmake
// compiles this file with -Wthread-safety -Werror once as it is (it must compile: the control)
// and once with GORO_COMPILE_FAIL_CASE set to each case number (each must fail, naming the
// analysis). Raw attributes, as a user without a macro library writes them.
#include <goro/goro.hpp>

class account {
 public:
  void deposit(int n) {
    mu_.lock();
    balance_ += n;
    mu_.unlock();
  }
  bool try_deposit(int n) {
    if (!mu_.try_lock()) return false;
    balance_ += n;
    mu_.unlock();
    return true;
  }
  int balance_locked() const __attribute__((requires_capability(mu_))) { return balance_; }
#if GORO_COMPILE_FAIL_CASE == 1
  void unguarded(int n) { balance_ += n; }  // without the lock
#elif GORO_COMPILE_FAIL_CASE == 2
  int peek() const { return balance_locked(); }  // a function that requires it, without it
#elif GORO_COMPILE_FAIL_CASE == 3
  void forgets() { mu_.lock(); }  // still held at the end of the function
#endif

 private:
  mutable goro::mutex mu_;
  int balance_ __attribute__((guarded_by(mu_))) = 0;
};

int main() {
  account a;
  a.deposit(1);
  return a.try_deposit(2) ? 0 : 1;
}
