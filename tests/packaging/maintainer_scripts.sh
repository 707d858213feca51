#!/bin/sh
# maintainer_scripts.sh PACKAGING_DIR
# The Debian maintainer scripts must parse, be executable, stop on errors, and
# guard every systemctl call so chroots/containers without systemd can install.
set -u
dir=$1/debian
bad=0
for s in postinst prerm postrm; do
  f=$dir/$s
  [ -x "$f" ] || { echo "$s: not executable"; bad=$((bad + 1)); }
  sh -n "$f" || { echo "$s: syntax error"; bad=$((bad + 1)); }
  grep -q '^set -e' "$f" || { echo "$s: no 'set -e'"; bad=$((bad + 1)); }
  # Each systemctl/deb-systemd-invoke call must sit inside a /run/systemd/system guard.
  if awk '/\[ -d \/run\/systemd\/system \]/ { guard = NR } /^[ \t]*(systemctl|deb-systemd-invoke)/ && !(guard && NR - guard < 12) { print FILENAME ":" NR ": unguarded " $1; bad_line = 1 } END { exit bad_line }' "$f"; then :; else bad=$((bad + 1)); fi
done
grep -qx '/etc/antiphase/antiphase.toml' "$dir/conffiles" || { echo "conffiles: config not listed"; bad=$((bad + 1)); }
[ "$bad" = 0 ] && echo "maintainer scripts OK"
exit "$bad"
