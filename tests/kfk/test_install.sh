#!/bin/sh
# `cmake --install` puts kfk in bin/ and its man page in share/man/man1/;
# the installed program runs on its own (static libkafka) and the man page
# renders without warnings. Needs KFK_BUILD_DIR (set by tests/cmake/kfk.cmake).
. "$(dirname "$0")/lib.sh"
[ -n "${KFK_BUILD_DIR:-}" ] || skip "KFK_BUILD_DIR not set"
cmake --install "$KFK_BUILD_DIR" --prefix "$WORK/prefix" >"$WORK/install.log" 2>&1 || { show "$WORK/install.log"; fail "install"; }
bin=$(find "$WORK/prefix" -path '*/bin/kfk' | head -1)
man=$(find "$WORK/prefix" -path '*/man/man1/kfk.1' | head -1)
[ -x "$bin" ] || fail "bin/kfk not installed"
[ -f "$man" ] || fail "man1/kfk.1 not installed"
env -u LD_LIBRARY_PATH "$bin" --version | grep -q "^kfk (libkafka " || fail "installed kfk --version"
if command -v groff >/dev/null 2>&1; then
    groff -man -Tutf8 -ww -z "$man" 2>"$WORK/groff.log"
    [ ! -s "$WORK/groff.log" ] || { show "$WORK/groff.log"; fail "man page warnings"; }
fi
echo "ok: kfk installed"
