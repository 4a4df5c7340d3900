#!/bin/sh
# `cmake --install` into a temporary prefix, then build examples/embed against it as a
# host would: with pkg-config (shared and static liblurn) and with find_package(lurn).
# usage: test_install.sh build-dir source-dir c-compiler
BUILD=$1
SRC=$2
CC=${3:-cc}
fail=0
check() { # description, condition (as a command)
  if ! eval "$2"; then echo "FAIL: $1" >&2; fail=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
P=$tmp/prefix

cmake --install "$BUILD" --prefix "$P" >"$tmp/install.log" 2>&1 || {
  cat "$tmp/install.log"; echo "FAIL: cmake --install" >&2; exit 1; }
pc=$(find "$P" -name lurn.pc | head -n 1)
libdir=$(dirname "$(dirname "$pc")")
for f in include/lurn.h bin/lurn; do check "installed $f" '[ -f "$P/$f" ]'; done
check "installed lurn.pc" '[ -n "$pc" ]'
check "installed liblurn.so and liblurn.a" '[ -f "$libdir/liblurn.so" ] && [ -f "$libdir/liblurn.a" ]'
check "installed the CMake package" '[ -f "$libdir/cmake/lurn/lurnConfig.cmake" ] && [ -f "$libdir/cmake/lurn/lurnTargets.cmake" ]'
check "installed lurn.so, the Lua module" '[ -n "$(find "$P" -path "*lua/5.4/lurn.so")" ]'
check "liblurn.so exports only the API" \
  '! nm -D --defined-only "$libdir/liblurn.so" | grep " T " | grep -qv " T lurn_\| T luaopen_lurn"'

export PKG_CONFIG_PATH="$libdir/pkgconfig"
check "pkg-config knows lurn 0.1.0" '[ "$(pkg-config --modversion lurn)" = 0.1.0 ]'
check "pkg-config points into the staged prefix" '[ -f "$(pkg-config --variable=includedir lurn)/lurn.h" ] && pkg-config --cflags lurn | grep -q "$P/"'

# a sanitized liblurn needs the sanitizer runtime in the host too
SAN=""
[ "${LURN_SANITIZE:-0}" = 1 ] && SAN="-fsanitize=address,undefined"

cp -r "$SRC/examples/embed" "$tmp/ex"
cd "$tmp/ex"
make CC="$CC" CFLAGS="-O1 -Wall -Wextra -Werror $SAN" host >make.log 2>&1 || cat make.log
check "the host builds with pkg-config" '[ -x host ]'
LD_LIBRARY_PATH="$libdir" ./host train.lua >out.txt 2>&1; rc=$?
cat out.txt
check "the host trains and reads predictions back (rc $rc)" \
  '[ $rc = 0 ] && grep -q "^round 5: loss" out.txt && grep -q "final mse (computed in C)" out.txt'
l1=$(awk '/^round 1:/ {print $4}' out.txt); l5=$(awk '/^round 5:/ {print $4}' out.txt)
check "the loss falls ($l1 -> $l5)" 'awk -v a="$l1" -v b="$l5" "BEGIN { exit !(b < a) }"'
check "the host links liblurn.so" 'LD_LIBRARY_PATH="$libdir" ldd ./host | grep -q "liblurn.so.0 => $libdir"'

make CC="$CC" CFLAGS="-O1 -Wall -Wextra $SAN" host-static >make-static.log 2>&1 || cat make-static.log
check "the host builds against liblurn.a" '[ -x host-static ] && ! ldd ./host-static | grep -q liblurn'
./host-static train.lua >out-static.txt 2>&1
check "the static host gives the same numbers" 'cmp -s out.txt out-static.txt'

cmake -S . -B build -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_FLAGS="$SAN" \
  -DCMAKE_EXE_LINKER_FLAGS="$SAN" >cmake.log 2>&1 && cmake --build build >>cmake.log 2>&1 || cat cmake.log
check "the host builds with find_package(lurn)" '[ -x build/host ]'
LD_LIBRARY_PATH="$libdir" ./build/host train.lua >out-cmake.txt 2>&1
check "the CMake-built host gives the same numbers" 'cmp -s out.txt out-cmake.txt'

[ $fail = 0 ] && echo "install: all checks passed"
exit $fail
