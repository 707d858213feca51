#!/bin/sh
# man_covers_help.sh BINARY MANPAGE
# Fails when the man page misses a long option or a subcommand that `BINARY --help`
# (CLI11 format) lists, so the hand-written pages cannot drift from the CLI unnoticed.
set -u
bin=$1 page=$2
[ -x "$bin" ] || { echo "not executable: $bin"; exit 2; }
[ -r "$page" ] || { echo "cannot read: $page"; exit 2; }
# roff writes hyphens as \-; compare on plain text.
text=$(sed 's/\\-/-/g' "$page")
missing=0

options_of() { "$@" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }
subcommands_of() { "$bin" --help 2>&1 | awk '/^Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }'; }

require() {
  if ! printf '%s\n' "$text" | grep -q -- "$1"; then
    echo "$(basename "$page"): does not document $2"
    missing=$((missing + 1))
  fi
}

for opt in $(options_of "$bin"); do require "$opt" "option $opt"; done
for sub in $(subcommands_of); do
  require "^\.[BI]*[ ]*$sub\b" "subcommand $sub"
  for opt in $(options_of "$bin" "$sub"); do require "$opt" "option $opt of $sub"; done
done
[ "$missing" = 0 ] && echo "$(basename "$page") documents every option and subcommand of $(basename "$bin")"
exit "$missing"
