#!/bin/sh
# Stock lua5.4 with the installed lurn.so (LUA_CPATH pointing into a staged install):
# `lua5.4 -l lurn`, require "lurn" and its Lua submodules, and a training script.
# usage: test_lua_module.sh build-dir source-dir c-compiler
BUILD=$1
SRC=$2
CC=${3:-cc}
fail=0
check() { # description, condition (as a command)
  if ! eval "$2"; then echo "FAIL: $1" >&2; fail=1; fi
}
command -v lua5.4 >/dev/null 2>&1 || {
  echo "FAIL: lua5.4 is not installed (Debian package lua5.4; scripts/test installs it)" >&2
  exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$BUILD" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 || {
  cat "$tmp/install.log"; echo "FAIL: cmake --install" >&2; exit 1; }
mod=$(find "$tmp/prefix" -path "*lua/5.4/lurn.so" | head -n 1)
check "lurn.so is installed" '[ -n "$mod" ]'
export LUA_CPATH="$(dirname "$mod")/?.so"
export LUA_PATH="$tmp/none/?.lua" # the Lua library is inside lurn.so: no files needed

# a sanitized lurn.so needs the sanitizer runtimes loaded first in the interpreter
if [ "${LURN_SANITIZE:-0}" = 1 ]; then
  LD_PRELOAD="$($CC -print-file-name=libasan.so) $($CC -print-file-name=libubsan.so)"
  export LD_PRELOAD
fi

out=$(lua5.4 -l lurn -e 'print(lurn._VERSION, lurn.ones(2, 2):sum():item())' 2>&1)
check "lua5.4 -l lurn ($out)" '[ "$out" = "$(printf "lurn 0.1.0\t4.0")" ]'
cd "$tmp"
lua5.4 "$SRC/tests/embed/lua54_train.lua" >out.txt 2>&1; rc=$?
cat out.txt
check "a training script runs under lua5.4 (rc $rc)" '[ $rc = 0 ] && grep -q "^trained" out.txt'
lua5.4 "$SRC/examples/xor.lua" >xor.txt 2>&1; rc=$?
check "examples/xor.lua runs under lua5.4 (rc $rc)" '[ $rc = 0 ] && grep -q "^final loss" xor.txt'
out=$(lua5.4 -e 'local l = require "lurn"; local ok, e = pcall(function() return l.ones(2) + l.ones(3) end); print(ok, e)' 2>&1)
check "errors are Lua errors under lua5.4 ($out)" 'echo "$out" | grep -q "^false.*add: shapes"'

[ $fail = 0 ] && echo "lua module: all checks passed"
exit $fail
