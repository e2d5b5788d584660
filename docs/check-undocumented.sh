#!/bin/sh
# Fails when Doxygen's warning log names an undocumented public function;
# lists the other undocumented items (struct fields, enums, typedefs) as
# information. Usage: check-undocumented.sh <warnings.log>
set -eu
log=$1
[ -f "$log" ] || { echo "check-undocumented: no $log"; exit 1; }
functions=$(grep -c '(function) of file .* is not documented' "$log" || true)
others=$(grep 'is not documented' "$log" | grep -vc '(function)' || true)
if [ "$functions" -gt 0 ]; then
    echo "docs: $functions undocumented public function(s):"
    grep '(function) of file .* is not documented' "$log" | sed 's|^.*/include/||'
    exit 1
fi
echo "docs: every public function is documented ($others other items without their own comment, see $log)"
