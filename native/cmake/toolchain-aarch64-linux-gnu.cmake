# Cross-compile libnativegrad for Linux arm64 (portable scalar kernels only):
#   cmake -S . -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=native/cmake/toolchain-aarch64-linux-gnu.cmake -DNG_BUILD_TESTS=OFF
# With the tests on (the default), ctest runs them under Debian's qemu-user:
#   cmake -S . -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=native/cmake/toolchain-aarch64-linux-gnu.cmake && cmake --build build/arm64
#   ctest --test-dir build/arm64        (apt-get install qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
if(NOT CMAKE_CROSSCOMPILING_EMULATOR)
  set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/aarch64-linux-gnu)
endif()
