#!/bin/sh
# The embedding example under valgrind's memcheck: examples/embed/host.c (built in the tree
# as embed_host, against liblurn.so) trains through the C API and reads predictions back.
# Any memory error, and any definitely or indirectly lost block, fails; "still reachable"
# memory (OpenBLAS keeps its thread buffers until exit) is not a leak and is not reported.
# Skips (77) when valgrind is not installed (Debian package valgrind; scripts/test installs
# it) and in the sanitizer build (valgrind cannot run ASan binaries).
# usage: test_valgrind.sh build-dir source-dir [c-compiler]
BUILD=$1
SRC=$2
if [ "${LURN_SANITIZE:-0}" = 1 ]; then
  echo "SKIP: a sanitizer build (valgrind and ASan do not mix)"
  exit 77
fi
command -v valgrind >/dev/null 2>&1 || {
  echo "SKIP: valgrind is not installed (Debian package valgrind)"
  exit 77
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

# one BLAS thread: the same code paths, and memcheck serialises threads anyway
OPENBLAS_NUM_THREADS=1 valgrind -q --error-exitcode=99 --leak-check=full \
  --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
  --suppressions="$SRC/tests/embed/valgrind.supp" \
  "$BUILD/embed_host" "$SRC/examples/embed/train.lua" >out.txt 2>err.txt
rc=$?
cat out.txt err.txt
if [ $rc = 99 ]; then
  echo "FAIL: valgrind found memory errors or leaks in the embedding example" >&2
  exit 1
fi
if [ $rc != 0 ] || ! grep -q "^final mse" out.txt; then
  echo "FAIL: the embedding example failed under valgrind (exit $rc)" >&2
  exit 1
fi
echo "valgrind: the embedding example is clean"
