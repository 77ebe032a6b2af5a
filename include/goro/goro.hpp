// goro/goro.hpp: everything goro offers. Each header documents its declarations' contracts;
// docs/reference.md lists them all in one place.
#pragma once

#include "goro/chan.hpp"
#include "goro/cond.hpp"
#include "goro/context.hpp"
#include "goro/defer.hpp"
#include "goro/errgroup.hpp"
#include "goro/errors.hpp"
#include "goro/io.hpp"
#include "goro/net.hpp"
#include "goro/once.hpp"
#include "goro/os.hpp"
#include "goro/runtime.hpp"
#include "goro/rwmutex.hpp"
#include "goro/select.hpp"
#include "goro/semaphore.hpp"
#include "goro/source_location.hpp"
#include "goro/sync.hpp"
#include "goro/time.hpp"
#include "goro/version.hpp"
