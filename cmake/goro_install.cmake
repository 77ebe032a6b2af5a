# Install rules: headers, the library, a CMake package (goro::goro) and a pkg-config file.
#
# After `cmake --install <build> --prefix <p>`:
#   CMake:      find_package(goro CONFIG REQUIRED) with CMAKE_PREFIX_PATH=<p>; link goro::goro
#   pkg-config: PKG_CONFIG_PATH=<p>/<libdir>/pkgconfig g++ main.cpp $(pkg-config --cflags --libs goro)

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(GORO_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/goro")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/goro"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

install(TARGETS goro
        EXPORT goroTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")

install(EXPORT goroTargets
        NAMESPACE goro::
        DESTINATION "${GORO_INSTALL_CMAKEDIR}")

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
        DESTINATION "${GORO_INSTALL_CMAKEDIR}")

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
configure_file("${CMAKE_CURRENT_LIST_DIR}/goro.pc.in" "${PROJECT_BINARY_DIR}/goro.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/goro.pc" DESTINATION "${_goro_pcdir}")
unset(_goro_pcdir)
unset(_goro_up)
