// goro/version.hpp: the library's version, for preprocessor tests and for printing.
//
// The numbers here are the single source of truth: the top-level CMakeLists.txt reads them for
// project(VERSION), so the CMake package (find_package(goro 0.2 CONFIG)), the pkg-config file,
// the shared library's SONAME and the Debian package all carry the same version.
// While the major version is 0, a new minor version may change the API (CHANGELOG.md says how);
// a new patch version does not.
#pragma once

#define GORO_VERSION_MAJOR 0
#define GORO_VERSION_MINOR 2
#define GORO_VERSION_PATCH 0

// One number that grows with every release: 0.2.0 is 200, 1.4.12 is 10412.
#define GORO_VERSION (GORO_VERSION_MAJOR * 10000 + GORO_VERSION_MINOR * 100 + GORO_VERSION_PATCH)

#define GORO_VERSION_STR_(x) #x
#define GORO_VERSION_STR(major, minor, patch) \
  GORO_VERSION_STR_(major) "." GORO_VERSION_STR_(minor) "." GORO_VERSION_STR_(patch)

namespace goro {

// "0.2.0": the version of the headers this code was compiled against.
inline constexpr const char* version_string =
    GORO_VERSION_STR(GORO_VERSION_MAJOR, GORO_VERSION_MINOR, GORO_VERSION_PATCH);

}  // namespace goro
