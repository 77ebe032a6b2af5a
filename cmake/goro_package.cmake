# CPack: `cpack -G DEB` in a build directory makes goro's Debian packages (scripts/package.sh
# builds the directory the package is made from, then checks the result).
#
#   libgoro-dev       headers, libgoro.a, goro_asan and goro_tsan where built, the CMake package,
#                     the pkg-config files, the gdb script, the docs
#   libgoro<X.Y>      libgoro.so.<X.Y> (named after its SONAME, as Debian names libraries), only
#                     when the build has a shared library (GORO_PACKAGE_VARIANTS or
#                     BUILD_SHARED_LIBS); libgoro-dev then depends on exactly that version.
#
# The install prefix is the build's CMAKE_INSTALL_PREFIX: configure with -DCMAKE_INSTALL_PREFIX=/usr
# so that GNUInstallDirs puts the libraries in Debian's multiarch directory.

set(CPACK_PACKAGE_NAME goro)
set(CPACK_PACKAGE_VENDOR "goro")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_PACKAGE_CONTACT "goro developers <goro@localhost>")
set(CPACK_GENERATOR DEB)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

set(_goro_runtime_pkg "libgoro${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libgoro-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# What a program that includes the headers needs to build: a C++20 compiler's standard library.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libstdc++-12-dev | libc++-dev")
set(CPACK_COMPONENT_DEV_DESCRIPTION "${PROJECT_DESCRIPTION} (development files)
Headers, the static library and its sanitizer variants, CMake and pkg-config files, a gdb
script that lists goroutines, and the documentation.")

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME "${_goro_runtime_pkg}")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "libc6 (>= 2.34), libstdc++6 (>= 12), libgcc-s1")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "${PROJECT_DESCRIPTION} (shared library)")

get_target_property(_goro_type goro TYPE)
if(TARGET goro_shared OR _goro_type STREQUAL "SHARED_LIBRARY")
  set(CPACK_COMPONENTS_ALL runtime dev)
  set(CPACK_COMPONENT_DEV_DEPENDS runtime)  # with ENABLE_COMPONENT_DEPENDS: "= version"
else()
  set(CPACK_COMPONENTS_ALL dev)
endif()
unset(_goro_type)
unset(_goro_runtime_pkg)

include(CPack)
