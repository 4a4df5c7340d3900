#!/bin/sh
# The lurn executable: options, arg, exit codes, tracebacks, the embedded library.
# usage: test_cli.sh path/to/lurn source-dir
LURN=$1
SRC=$2
fail=0
check() { # description, condition (as a command)
  if ! eval "$2"; then echo "FAIL: $1" >&2; fail=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" # no lurn sources here: the library must be inside the binary

out=$("$LURN" -v); check "-v prints the version" 'echo "$out" | grep -q "Lua 5.4"'
out=$("$LURN" -e 'print((require "lurn").ones(2):sum():item())')
check "-e runs code with the library" '[ "$out" = "2.0" ]'

cat > args.lua <<'LUA'
local a, b = ...
print(arg[0], arg[1], arg[2], a, b, #arg)
LUA
out=$("$LURN" args.lua x "y z")
check "script args in arg and ..." '[ "$out" = "$(printf "args.lua\tx\ty z\tx\ty z\t2")" ]'

cat > err.lua <<'LUA'
local lurn = require "lurn"
local function inner() return lurn.ones(2, 3) + lurn.ones(4) end
inner()
LUA
"$LURN" err.lua >out.txt 2>errs.txt; rc=$?
check "a script error exits 1" '[ $rc = 1 ]'
check "the error names the op and shapes" 'grep -q "add: shapes \[2, 3\] and \[4\] cannot be broadcast" errs.txt'
check "the error has a traceback" 'grep -q "stack traceback" errs.txt && grep -q "in.*inner" errs.txt'

"$LURN" --bogus >/dev/null 2>errs.txt; rc=$?
check "bad usage exits 2" '[ $rc = 2 ] && grep -q "unrecognized option" errs.txt'
"$LURN" -e >/dev/null 2>&1; rc=$?
check "-e without code exits 2" '[ $rc = 2 ]'
"$LURN" missing.lua 2>errs.txt; rc=$?
check "a missing script exits 1 and says so" '[ $rc = 1 ] && grep -q "missing.lua" errs.txt'

out=$(echo 'print(1 + 1)' | "$LURN" -)
check "- runs stdin" '[ "$out" = "2" ]'
out=$(echo 'print(40 + 2)' | "$LURN")
check "piped stdin runs as a script" '[ "$out" = "42" ]'

out=$("$LURN" -l lurn -e 'print(lurn.zeros(1):numel())')
check "-l lurn sets the global" '[ "$out" = "1" ]'

# XOR end to end: a 2-16-1 MLP trained with raw autograd reaches < 0.05 loss
out=$("$LURN" "$SRC/examples/xor.lua")
first=$(echo "$out" | awk '/^step/ {print $4; exit}')
final=$(echo "$out" | awk '/^final loss/ {print $3}')
check "xor prints a first and a final loss ($first -> $final)" '[ -n "$first" ] && [ -n "$final" ]'
check "xor loss falls below 0.05 ($final)" 'awk -v f="$final" -v s="$first" "BEGIN { exit !(f < 0.05 && f < s) }"'

[ $fail = 0 ] && echo "cli: all checks passed"
exit $fail
