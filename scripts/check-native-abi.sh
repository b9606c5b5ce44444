#!/usr/bin/env bash
# check-native-abi.sh RUNTIMES_DIR [HEADER]
#
# Checks the packaged native binaries under RUNTIMES_DIR/{linux-x64,linux-arm64,win-x64}/native/ (the layout of
# the NuGet package's runtimes/ folder) with objdump:
#   linux-*: the right architecture; no symbol version newer than GLIBC_2.28 (loads on Debian 10, RHEL 8);
#            DT_NEEDED only glibc's own libraries (no libstdc++, libgomp, libgcc_s); the dynamic symbols it
#            defines are exactly the ng_* functions of native/include/nativegrad.h.
#   win-x64: PE32+ x86-64; imports only KERNEL32.dll and msvcrt.dll; exports exactly the ng_* functions.
# Exits non-zero on the first violation. Needs binutils (objdump) and binutils-mingw-w64-x86-64.
set -euo pipefail
dir=${1:?usage: check-native-abi.sh RUNTIMES_DIR [HEADER]}
header=${2:-"$(dirname "$0")/../native/include/nativegrad.h"}
max_glibc=2.28

fail() { echo "check-native-abi: FAIL: $*" >&2; exit 1; }

# The C API: every NG_API function declared in the public header.
api=$(grep -oE 'NG_API[^(;]*[^a-z0-9_]ng_[a-z0-9_]+\(' "$header" | grep -oE 'ng_[a-z0-9_]+\($' | tr -d '(' | sort -u)
[ -n "$api" ] || fail "no NG_API functions found in $header"
api_count=$(wc -l <<<"$api")

check_linux() {
    local rid=$1 format=$2 objdump=$3 file="$dir/$1/native/libnativegrad.so"
    [ -f "$file" ] || fail "$file missing"
    command -v "$objdump" >/dev/null || objdump=objdump
    "$objdump" -f "$file" | grep -q "file format $format" || fail "$file is not $format"
    local dynsym versions newest needed exports
    dynsym=$("$objdump" -T "$file")
    versions=$(grep -oE '\(?GLIBC_[0-9]+(\.[0-9]+)+' <<<"$dynsym" | tr -d '(' | sed 's/GLIBC_//' | sort -Vu)
    newest=$(tail -1 <<<"$versions")
    if [ "$(printf '%s\n%s\n' "$newest" "$max_glibc" | sort -V | tail -1)" != "$max_glibc" ]; then
        local v too_new=()
        for v in $versions; do
            [ "$(printf '%s\n%s\n' "$v" "$max_glibc" | sort -V | tail -1)" = "$max_glibc" ] || too_new+=("$v")
        done
        grep -E "GLIBC_($(printf '%s\n' "${too_new[@]}" | sed 's/\./\\./g' | paste -sd'|'))[) ]" <<<"$dynsym" >&2 || true
        fail "$file needs GLIBC_$newest (> GLIBC_$max_glibc); bind the symbols above in native/cmake/glibc-compat.h"
    fi
    if grep -qE 'GLIBCXX_|CXXABI_|GOMP_|OMP_|GCC_[0-9]' <<<"$dynsym"; then
        fail "$file references libstdc++/libgomp/libgcc_s symbols: $(grep -E 'GLIBCXX_|CXXABI_|GOMP_|OMP_|GCC_[0-9]' <<<"$dynsym" | head -3)"
    fi
    needed=$("$objdump" -p "$file" | awk '$1 == "NEEDED" { print $2 }' | sort)
    local lib
    for lib in $needed; do
        case $lib in
            libc.so.6|libm.so.6|libpthread.so.0|libdl.so.2|ld-linux-x86-64.so.2|ld-linux-aarch64.so.1) ;;
            *) fail "$file depends on $lib (allowed: glibc's libc, libm, libpthread, libdl, ld-linux)" ;;
        esac
    done
    # Defined global or weak dynamic symbols (flags column "g", "u" or " w"; not *UND*), i.e. the exports.
    exports=$(grep -E '^[0-9a-f]+ ([gu].|.w)' <<<"$dynsym" | grep -v '\*UND\*' | awk '{ print $NF }' | sort -u || true)
    [ "$exports" = "$api" ] || fail "$file exports differ from nativegrad.h's ng_* API:$(diff <(echo "$api") <(echo "$exports") | grep '^[<>]' | head -10 | tr '\n' ' ')"
    echo "$rid: $(basename "$file") $(stat -c %s "$file") bytes, $format; newest symbol version GLIBC_$newest (limit $max_glibc);" \
         "NEEDED $(echo $needed | tr ' ' ','); exports $api_count ng_* functions, nothing else"
}

check_windows() {
    local file="$dir/win-x64/native/libnativegrad.dll" objdump=x86_64-w64-mingw32-objdump
    [ -f "$file" ] || fail "$file missing"
    command -v "$objdump" >/dev/null || fail "$objdump not found (apt-get install binutils-mingw-w64-x86-64)"
    local pe imports exports
    pe=$("$objdump" -p "$file")
    "$objdump" -f "$file" | grep -q 'file format pei-x86-64' || fail "$file is not pei-x86-64"
    imports=$(awk '/DLL Name:/ { print $3 }' <<<"$pe" | sort -fu)
    local dll
    for dll in $imports; do
        case ${dll,,} in
            kernel32.dll|msvcrt.dll) ;;
            *) fail "$file imports $dll (allowed: KERNEL32.dll, msvcrt.dll)" ;;
        esac
    done
    # The export name table: lines "[   n] name" after "[Ordinal/Name Pointer] Table".
    exports=$(awk '/\[Ordinal\/Name Pointer\] Table|\[Name Pointer\/Ordinal\] Table/ { t = 1; next }
                   t && /^[ \t]*\[ *[0-9]+\] [A-Za-z_]/ { print $NF; next }
                   t && NF == 0 { t = 0 }' <<<"$pe" | sort -u)
    [ "$exports" = "$api" ] || fail "$file exports differ from nativegrad.h's ng_* API:$(diff <(echo "$api") <(echo "$exports") | grep '^[<>]' | head -10 | tr '\n' ' ')"
    echo "win-x64: $(basename "$file") $(stat -c %s "$file") bytes, pei-x86-64; imports $(echo $imports | tr ' ' ','); exports $api_count ng_* functions, nothing else"
}

check_linux linux-x64 elf64-x86-64 objdump
check_linux linux-arm64 elf64-littleaarch64 aarch64-linux-gnu-objdump
check_windows
echo "check-native-abi: OK"
