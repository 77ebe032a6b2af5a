// throw_panic (declared in goro/detail/core.hpp): the out-of-line throw of a goro::panic_error,
// so that the inline channel code does not carry the exception machinery.
#include "goro/detail/core.hpp"
#include "goro/errors.hpp"

namespace goro::detail {

void throw_panic(const char* what) { throw panic_error(what); }

}  // namespace goro::detail
