#!/bin/sh
# Checks how cmocka results reach ctest (tests/support/run_cmocka.sh): a
# program that skipped a test exits 77 (ctest "Skipped"), one that skipped a
# test and failed another still fails, one that only passed passes.
# Usage: skip_report.sh <skip_probe program>
set -u
probe=$1
wrap=$(dirname "$0")/../support/run_cmocka.sh
failures=0
expect() { # mode expected-status
    "$wrap" "$probe" "$1" >/dev/null 2>&1
    got=$?
    if [ "$got" -eq "$2" ]; then echo "ok: $1 -> exit $got"
    else echo "FAIL: $1 -> exit $got, expected $2"; failures=$((failures + 1)); fi
}
expect pass 0
expect skip 77
expect skip_fail 1
[ $failures -eq 0 ]
