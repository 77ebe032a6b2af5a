// goro/goro.hpp: everything goro offers. Each header documents its declarations' contracts;
// docs/reference.md lists them all in one place.
#pragma once

#include "goro/chan.hpp"
#include "goro/defer.hpp"
#include "goro/errors.hpp"
#include "goro/os.hpp"
#include "goro/runtime.hpp"
#include "goro/select.hpp"
#include "goro/source_location.hpp"
#include "goro/sync.hpp"
#include "goro/time.hpp"
