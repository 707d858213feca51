# Shared by tests/bench/agent/run.sh and tests/bench/api/run.sh (sourced, not run):
# creates and removes a parent cgroup holding N function cgroups fn-f<i>.scope.
# The pattern '^fn-(.+?)(-[0-9]+)?\.scope$' makes each one a separate function "f<i>"
# (fn-bench-<i>.scope would collapse into instances of one function "bench").

# The cgroup2 mount point from /proc/self/mountinfo (hybrid hosts: .../unified).
cgroup2_mount() {
  awk '{for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break }}' \
    /proc/self/mountinfo
}

# make_fn_cgroups PARENT N SLEEPER_EVERY: creates PARENT/fn-f0.scope .. fn-f<N-1>.scope;
# every SLEEPER_EVERY-th gets a sleeping process (0 = none).
make_fn_cgroups() {
  local parent=$1 n=$2 every=$3 i
  mkdir -p "$parent"
  for ((i = 0; i < n; i++)); do
    mkdir "$parent/fn-f$i.scope"
    if ((every > 0 && i % every == 0)); then
      start_in_cgroup "$parent/fn-f$i.scope" sleep infinity
    fi
  done
}

# start_in_cgroup CGROUP CMD...: the process joins the cgroup before exec, so all of its
# CPU time is charged there.
start_in_cgroup() {
  local cg=$1
  shift
  sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" "$@" >/dev/null 2>&1 &
  disown
}

# remove_fn_cgroups PARENT: kills every process below PARENT and removes the tree.
remove_fn_cgroups() {
  local parent=$1 cg tries
  [[ -n $parent && -d $parent ]] || return 0
  for cg in "$parent"/*/ "$parent"/; do
    [[ -d $cg ]] || continue
    if [[ -e $cg/cgroup.kill ]]; then echo 1 >"$cg/cgroup.kill" 2>/dev/null || true
    else xargs -r kill -9 <"$cg/cgroup.procs" 2>/dev/null || true; fi
  done
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    find "$parent" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
    rmdir "$parent" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "warning: could not remove $parent" >&2
  return 1
}

# count_fn_cgroups PARENT
count_fn_cgroups() { find "$1" -mindepth 1 -maxdepth 1 -type d -name 'fn-*.scope' | wc -l; }
