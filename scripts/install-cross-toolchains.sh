#!/usr/bin/env bash
# install-cross-toolchains.sh - installs (Debian/Ubuntu, as root) whatever the multi-runtime NuGet package build
# and its smoke test need and the machine lacks: CMake and gcc for linux-x64, the aarch64 cross gcc and its glibc
# for linux-arm64, mingw-w64 (posix threads) for win-x64, qemu-user to run arm64 tests, unzip to read the package.
# Does nothing when everything is there; `apt-get update` runs once, only if something must be installed.
set -euo pipefail

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need cmake cmake
need gcc gcc
need objdump binutils
need aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
need aarch64-linux-gnu-objdump binutils-aarch64-linux-gnu
need x86_64-w64-mingw32-gcc gcc-mingw-w64-x86-64-posix
need x86_64-w64-mingw32-objdump binutils-mingw-w64-x86-64
need qemu-aarch64 qemu-user
need unzip unzip
[ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ] || missing+=(libc6-dev-arm64-cross)
[ -e /usr/aarch64-linux-gnu/include/stdio.h ] || missing+=(libc6-dev-arm64-cross)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "install-cross-toolchains: missing ${missing[*]}; install them (Debian/Ubuntu package names) and retry" >&2
    exit 1
fi
echo "install-cross-toolchains: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's mingw-w64 gcc has two thread models; the posix one is needed for the static winpthread link.
if ! command -v x86_64-w64-mingw32-gcc >/dev/null && [ -x /usr/bin/x86_64-w64-mingw32-gcc-posix ]; then
    update-alternatives --set x86_64-w64-mingw32-gcc /usr/bin/x86_64-w64-mingw32-gcc-posix
fi
