// goro/detail/thread_annotations.hpp: the capability annotations of clang's thread-safety
// analysis (-Wthread-safety), as macros that vanish under other compilers. Not API: goro's own
// locks and the fields they guard carry them; a user's code sees them only through
// goro::mutex, a capability, so that a user's own GUARDED_BY(mu) on a goro::mutex is checked.
//
// The analysis follows locks within one function, by the expression that names them. It cannot
// follow a lock released on another stack (park() hands a lock to the worker, which releases it
// once the parked goroutine's context is saved) nor a run-time set of locks (a select's
// channels). Where goro relies on either, the line says so, and the smallest function around
// it carries GORO_NO_THREAD_SAFETY_ANALYSIS while its declaration states the contract
// (GORO_RELEASE, GORO_REQUIRES) that callers are checked against.
// Reference: https://clang.llvm.org/docs/ThreadSafetyAnalysis.html
#pragma once

#if defined(__clang__)
#define GORO_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define GORO_THREAD_ANNOTATION(x)
#endif

// A class that is a lock ("mutex": the word the warnings use).
#define GORO_CAPABILITY(x) GORO_THREAD_ANNOTATION(capability(x))
// An RAII class that holds a capability for its lifetime.
#define GORO_SCOPED_CAPABILITY GORO_THREAD_ANNOTATION(scoped_lockable)
// A field read or written only with the capability held.
#define GORO_GUARDED_BY(x) GORO_THREAD_ANNOTATION(guarded_by(x))
// A pointer whose pointee is read or written only with the capability held.
#define GORO_PT_GUARDED_BY(x) GORO_THREAD_ANNOTATION(pt_guarded_by(x))
// The caller must hold the capabilities, and still holds them after the call.
#define GORO_REQUIRES(...) GORO_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
// The function takes the capabilities (no argument: *this) and returns holding them.
#define GORO_ACQUIRE(...) GORO_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
// The function releases capabilities the caller held (no argument: *this).
#define GORO_RELEASE(...) GORO_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
// The function takes the capability when it returns the first argument (true or false).
#define GORO_TRY_ACQUIRE(...) GORO_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
// The caller must not hold the capabilities (the function takes them itself).
#define GORO_EXCLUDES(...) GORO_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// From this call on, the analysis takes the capability as held (a run-time check, or a fact
// it cannot see).
#define GORO_ASSERT_CAPABILITY(x) GORO_THREAD_ANNOTATION(assert_capability(x))
// The function returns a reference to this capability.
#define GORO_RETURN_CAPABILITY(x) GORO_THREAD_ANNOTATION(lock_returned(x))
// The function's body is not analysed (its declared contract still binds its callers). Only
// with a comment that says what the analysis cannot follow there.
#define GORO_NO_THREAD_SAFETY_ANALYSIS GORO_THREAD_ANNOTATION(no_thread_safety_analysis)
