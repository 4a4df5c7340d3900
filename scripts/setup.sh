# Shared by scripts/run and scripts/test (sourced): install the Debian packages lurn
# needs, then configure and build. Usage: lurn_setup [build-dir] [extra cmake args...]
LURN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# libedit-dev: REPL line editing (BSD; GNU readline is GPL); lua5.4: the lurn.so module test;
# dataset-fashion-mnist: the real-data experiments (30 MB) and their tests; valgrind: the
# embedding example's memcheck test (tests/embed/test_valgrind.sh)
LURN_PACKAGES="cmake gcc make pkg-config liblua5.4-dev libopenblas-dev zlib1g-dev libedit-dev lua5.4
  dataset-fashion-mnist valgrind"

lurn_missing_packages() {
  local missing=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  echo "$missing"
}

# lurn_install PKG...: apt-get install what is missing (as root), or say how and fail
lurn_install() {
  local missing
  missing=$(lurn_missing_packages "$@")
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" = 0 ]; then
    echo "lurn: installing Debian packages:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q $missing >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null; } || {
        echo "lurn: apt-get install failed for:$missing" >&2
        return 1
      }
  else
    echo "lurn: missing Debian packages:$missing" >&2
    echo "lurn: install them with: sudo apt-get install -y$missing" >&2
    return 1
  fi
}

lurn_setup() {
  local dir=${1:-build}
  shift || true
  lurn_install $LURN_PACKAGES || exit 1
  cmake -S "$LURN_ROOT" -B "$LURN_ROOT/$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null || exit 1
  cmake --build "$LURN_ROOT/$dir" -j "$(nproc)" >/dev/null || {
    cmake --build "$LURN_ROOT/$dir" -j 1   # again, to show the errors
    exit 1
  }
}
