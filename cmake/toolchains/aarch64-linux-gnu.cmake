# Cross-compiles goro for 64-bit Arm Linux with Debian's cross toolchain, and runs the results
# under qemu-user. Needs: apt-get install g++-aarch64-linux-gnu qemu-user
# Usage: cmake -S . -B build/aarch64 -G Ninja \
#          -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
# scripts/test-aarch64.sh does this and runs the tests.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)

# The target's libraries and headers (libc, libstdc++) live here; -L tells qemu where to find
# the dynamic loader and shared libraries the binaries ask for.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_CROSSCOMPILING_EMULATOR "qemu-aarch64;-L;/usr/aarch64-linux-gnu")

# Programs (compilers, python, bash) come from the host; libraries, headers and CMake packages
# only from the target root, so that no x86-64 library (e.g. the host's GTest) is picked up.
# A package built for the target outside that root is found through <Package>_DIR.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
