#!/bin/sh
# lurn's command line, option by option: -h, -e, -l (and -l g=mod), -i, -v, -W, --,
# -, --threads (and LURN_NUM_THREADS), --seed; exit status 0 / 1 / 2; arg and ...
# usage: test_options.sh path/to/lurn source-dir
LURN=$1
fail=0
check() { # description, condition (as a command)
  if ! eval "$2"; then echo "FAIL: $1" >&2; fail=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

"$LURN" -h >help.txt 2>&1; rc=$?
check "-h exits 0" '[ $rc = 0 ]'
for o in "-e stat" "-i" "-l mod" "-l g=mod" "-v" "-W" "--threads N" "--seed N" "-h, --help" "--  " "-   " \
         LURN_NUM_THREADS LURN_HISTORY "Exit status"; do
  check "the help lists '$o'" 'grep -qe "$o" help.txt'
done
"$LURN" --help >help2.txt 2>&1
check "--help is -h" 'cmp -s help.txt help2.txt'

# -e, -l, -l g=mod, run in order
out=$("$LURN" -e 'x = 1' -l lurn -e 'x = x + lurn.ones(2):sum():item()' -e 'print(x)')
check "-e and -l run in order ($out)" '[ "$out" = "3.0" ]'
out=$("$LURN" -l L=lurn -e 'print(L.zeros(3):numel(), lurn)')
check "-l g=mod sets global g only ($out)" '[ "$out" = "$(printf "3\tnil")" ]'
"$LURN" -e 'error("bad")' >/dev/null 2>err.txt; rc=$?
check "an -e error exits 1 with a traceback" '[ $rc = 1 ] && grep -q "bad" err.txt && grep -q "stack traceback" err.txt'
"$LURN" -l no_such_module >/dev/null 2>err.txt; rc=$?
check "a missing -l module exits 1" '[ $rc = 1 ] && grep -q "no_such_module" err.txt'

# -v, alone and with -e
out=$("$LURN" -v); rc=$?
check "-v alone prints the version and exits 0" '[ $rc = 0 ] && echo "$out" | grep -q "^lurn 0\.1\.0 (Lua 5\.4"'
out=$("$LURN" -v -e 'print("after")')
check "-v then -e runs both" 'echo "$out" | grep -q "^lurn" && echo "$out" | grep -qx after'

# -W turns warnings on
"$LURN" -W -e 'warn("careful")' 2>err.txt
check "-W shows warnings" 'grep -q "careful" err.txt'
"$LURN" -e 'warn("careful")' 2>err.txt
check "warnings are off without -W" '! grep -q "careful" err.txt'

# arg and ... as lua sets them; -- and -
printf 'print(arg[-2], arg[-1], arg[0], select("#", ...), ...)\n' > args.lua
out=$("$LURN" -e 'y=1' args.lua a b)
check "arg below 0 holds the interpreter's options ($out)" \
  '[ "$out" = "$(printf -- "-e\ty=1\targs.lua\t2\ta\tb")" ]'
out=$("$LURN" -- args.lua -x)
check "-- stops options: -x goes to the script ($out)" '[ "$out" = "$(printf -- "%s\t--\targs.lua\t1\t-x" "$LURN")" ]'
out=$(echo 'print(...)' | "$LURN" - p q)
check "- runs stdin with arguments ($out)" '[ "$out" = "$(printf "p\tq")" ]'
"$LURN" args.lua --threads 2 >out.txt 2>&1; rc=$?
check "options after the script belong to it" '[ $rc = 0 ] && grep -q -- "--threads" out.txt'

# --threads and LURN_NUM_THREADS
nt='print(require("lurn").get_num_threads())'
out=$("$LURN" --threads 2 -e "$nt")
check "--threads 2 ($out)" '[ "$out" = 2 ]'
out=$("$LURN" --threads=3 -e "$nt")
check "--threads=3 ($out)" '[ "$out" = 3 ]'
out=$(LURN_NUM_THREADS=1 "$LURN" -e "$nt")
check "LURN_NUM_THREADS=1 ($out)" '[ "$out" = 1 ]'
out=$(LURN_NUM_THREADS=1 "$LURN" --threads 2 -e "$nt")
check "--threads wins over LURN_NUM_THREADS ($out)" '[ "$out" = 2 ]'
for bad in "--threads 0" "--threads x" "--threads" "--seed -1" "--seed 4294967296" "--seed" "-l" "--bogus"; do
  "$LURN" -e 'print(1)' $bad >out.txt 2>err.txt; rc=$?
  check "'$bad' is bad usage: exit 2 with a message and the usage" \
    '[ $rc = 2 ] && grep -q "usage:" err.txt && ! grep -qx 1 out.txt'
done
LURN_NUM_THREADS=many "$LURN" -e 'print(1)' >/dev/null 2>err.txt; rc=$?
check "a bad LURN_NUM_THREADS exits 2" '[ $rc = 2 ] && grep -q LURN_NUM_THREADS err.txt'

# --seed seeds lurn.manual_seed and lurn.random.seed
draw='local l = require "lurn"; print(l.rand(1):item(), l.random.rand())'
a=$("$LURN" --seed 42 -e "$draw")
b=$("$LURN" --seed 42 -e "$draw")
c=$("$LURN" -e "local l = require 'lurn'; l.manual_seed(42); l.random.seed(42)" -e "$draw")
d=$("$LURN" --seed 43 -e "$draw")
check "--seed 42 is reproducible ($a)" '[ -n "$a" ] && [ "$a" = "$b" ]'
check "--seed N is manual_seed(N) + random.seed(N)" '[ "$a" = "$c" ]'
check "another seed, other numbers" '[ "$a" != "$d" ]'

[ $fail = 0 ] && echo "options: all checks passed"
exit $fail
