// src/base: sizes fixed at build time that more than one layer needs.
#pragma once

namespace goro::detail {

// max_procs is capped here: one run queue and one timer heap per processor, in arrays.
inline constexpr int kMaxWorkers = 256;

}  // namespace goro::detail
