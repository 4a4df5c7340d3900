#!/bin/sh
# The REPL through a pseudo-terminal (tests/cli/repl_pty.py), and `lurn -i` with piped
# stdin (no terminal: statements read line by line, no prompts).
# usage: test_repl.sh path/to/lurn source-dir. Exits 77 (skipped) only without python3.
LURN=$1
SRC=$2
fail=0
check() { # description, condition (as a command)
  if ! eval "$2"; then echo "FAIL: $1" >&2; fail=1; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- without a terminal: lurn -i reads statements line by line ----
cat > "$tmp/in.lua" <<'LUA'
function twice(x)
  return 2 * x
end
twice(21)
error("oops")
twice(2), "a", nil
{b = 1, a = {1, 2}}
lurn.ones(2)
LUA
"$LURN" -i < "$tmp/in.lua" > "$tmp/out.txt" 2> "$tmp/err.txt"; rc=$?
check "lurn -i with piped stdin exits 0 (rc $rc)" '[ $rc = 0 ]'
check "expressions print their values" 'grep -qx 42 "$tmp/out.txt"'
check "several results, tab-separated" 'grep -q "$(printf "^4\ta\tnil$")" "$tmp/out.txt"'
check "tables print readably" 'grep -qx "{a = {1, 2}, b = 1}" "$tmp/out.txt"'
check "REPL globals: lurn" 'grep -qx "tensor(\[1., 1.\])" "$tmp/out.txt"'
check "an error goes to stderr with a traceback, and the session goes on" \
  'grep -q "oops" "$tmp/err.txt" && grep -q "stack traceback" "$tmp/err.txt"'
check "no prompts without a terminal" '! grep -q "^>" "$tmp/out.txt"'

printf 'x = 5\n' > "$tmp/script.lua"
out=$(echo 'x * 2' | "$LURN" -i "$tmp/script.lua")
check "-i script keeps the script's globals" '[ "$out" = 10 ]'
printf 'y = 3\nerror("script failed")\n' > "$tmp/bad.lua"
out=$(echo 'y + 1' | "$LURN" -i "$tmp/bad.lua" 2>"$tmp/err.txt"); rc=$?
check "-i after a failing script: the REPL has its state, exit 1 ($out, rc $rc)" \
  '[ "$out" = 4 ] && [ $rc = 1 ] && grep -q "script failed" "$tmp/err.txt"'
out=$(printf 'function f()\n  return 1\n' | "$LURN" -i 2>&1)
check "an unfinished statement at the end of input is reported" 'echo "$out" | grep -q "<eof>"'

# ---- through a terminal ----
if ! command -v python3 >/dev/null 2>&1; then
  echo "SKIP: the pseudo-terminal REPL test needs python3 (not found)"
  [ $fail = 0 ] && exit 77
  exit $fail
fi
python3 "$SRC/tests/cli/repl_pty.py" "$LURN" "$tmp" || fail=1

[ $fail = 0 ] && echo "repl: all checks passed"
exit $fail
