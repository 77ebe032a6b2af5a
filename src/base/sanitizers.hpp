// Which sanitizer this translation unit is built with: GORO_ASAN / GORO_TSAN (GCC defines
// __SANITIZE_*__, Clang answers __has_feature). The runtime's fiber hooks depend on them.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define GORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GORO_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define GORO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GORO_TSAN 1
#endif
#endif
