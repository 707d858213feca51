#!/bin/sh
# docs_cover_metrics.sh INTROSPECTION_CPP OPERATIONS_MD
# Every antiphase_* metric the agent exports must be explained in docs/operations.md.
set -u
src=$1 doc=$2
missing=0
for m in $(grep -o '"antiphase_[a-z0-9_]*"' "$src" | tr -d '"' | sort -u); do
  if ! grep -q "\`$m[\`{]" "$doc"; then
    echo "$(basename "$doc"): metric $m is not documented"
    missing=$((missing + 1))
  fi
done
[ "$missing" = 0 ] && echo "every metric in $(basename "$src") is documented"
exit "$missing"
