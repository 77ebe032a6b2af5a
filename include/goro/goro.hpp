// goro/goro.hpp: everything goro offers. See API.md for the contract.
#pragma once

#include "goro/chan.hpp"
#include "goro/defer.hpp"
#include "goro/errors.hpp"
#include "goro/runtime.hpp"
#include "goro/select.hpp"
#include "goro/sync.hpp"
#include "goro/time.hpp"
