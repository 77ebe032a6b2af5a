# Install rules: headers, the libraries (GORO_RUNTIME_TARGETS), a CMake package, pkg-config
# files, the gdb script and the docs. Two install components, the Debian packages' split
# (cmake/goro_package.cmake): "runtime" is libgoro.so.X.Y alone, "dev" everything else.
#
# After `cmake --install <build> --prefix <p>`:
#   CMake:      find_package(goro 0.2 CONFIG REQUIRED) with CMAKE_PREFIX_PATH=<p>; link
#               goro::goro (and, where built, goro::goro_shared, goro::goro_asan, goro::goro_tsan)
#   pkg-config: PKG_CONFIG_PATH=<p>/<libdir>/pkgconfig
#               g++ main.cpp $(pkg-config --cflags --libs goro)        (libgoro.so where present)
#               g++ main.cpp $(pkg-config --cflags --libs goro-static) (libgoro.a)

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(GORO_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/goro")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/goro"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT dev)

install(TARGETS ${GORO_RUNTIME_TARGETS}
        EXPORT goroTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT dev
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT runtime NAMELINK_COMPONENT dev
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT runtime)

install(EXPORT goroTargets
        NAMESPACE goro::
        DESTINATION "${GORO_INSTALL_CMAKEDIR}"
        COMPONENT dev)

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/goroConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/goroConfig.cmake"
  INSTALL_DESTINATION "${GORO_INSTALL_CMAKEDIR}")

# 0.x: a minor version bump may break the API, so only the same minor version is compatible.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/goroConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMinorVersion)

install(FILES "${PROJECT_BINARY_DIR}/goroConfig.cmake"
              "${PROJECT_BINARY_DIR}/goroConfigVersion.cmake"
        DESTINATION "${GORO_INSTALL_CMAKEDIR}"
        COMPONENT dev)

# pkg-config paths are written relative to ${pcfiledir} unless the install dirs are absolute.
set(_goro_pcdir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(GORO_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(GORO_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(GORO_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH _goro_up "/p/${_goro_pcdir}" "/p")
  string(REGEX REPLACE "/$" "" _goro_up "${_goro_up}")
  set(GORO_PC_PREFIX "\${pcfiledir}/${_goro_up}")
  set(GORO_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(GORO_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# goro.pc links -lgoro: libgoro.so where it is installed beside libgoro.a (the linker prefers
# it), else libgoro.a. goro-static.pc names libgoro.a itself.
set(GORO_PC_NAME goro)
set(GORO_PC_LIBS "-L\${libdir} -lgoro")
configure_file("${CMAKE_CURRENT_LIST_DIR}/goro.pc.in" "${PROJECT_BINARY_DIR}/goro.pc" @ONLY)
set(GORO_PC_NAME goro-static)
set(GORO_PC_LIBS "\${libdir}/libgoro.a")
configure_file("${CMAKE_CURRENT_LIST_DIR}/goro.pc.in" "${PROJECT_BINARY_DIR}/goro-static.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/goro.pc" "${PROJECT_BINARY_DIR}/goro-static.pc"
        DESTINATION "${_goro_pcdir}"
        COMPONENT dev)
unset(_goro_pcdir)
unset(_goro_up)

# The gdb script (info goroutines, goroutine N bt: docs/debugging.md) and the docs.
if(EXISTS "${PROJECT_SOURCE_DIR}/tools/goro-gdb.py")
  install(FILES "${PROJECT_SOURCE_DIR}/tools/goro-gdb.py"
          DESTINATION "${CMAKE_INSTALL_DATADIR}/goro"
          COMPONENT dev)
endif()
install(FILES "${PROJECT_SOURCE_DIR}/README.md" "${PROJECT_SOURCE_DIR}/CHANGELOG.md"
        DESTINATION "${CMAKE_INSTALL_DOCDIR}"
        COMPONENT dev)
install(DIRECTORY "${PROJECT_SOURCE_DIR}/docs/"
        DESTINATION "${CMAKE_INSTALL_DOCDIR}"
        COMPONENT dev
        FILES_MATCHING PATTERN "*.md" PATTERN "*.svg")
