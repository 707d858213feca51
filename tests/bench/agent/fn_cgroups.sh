# Shared by tests/bench/agent/run.sh and tests/bench/api/run.sh (sourced, not run):
# creates and removes a parent cgroup holding N function cgroups fn-f<i>.scope.
# The pattern '^fn-(.+?)(-[0-9]+)?\.scope$' makes each one a separate function "f<i>"
# (fn-bench-<i>.scope would collapse into instances of one function "bench").

# The cgroup2 mount point from /proc/self/mountinfo (hybrid hosts: .../unified).
cgroup2_mount() {
  awk '{for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break }}' \
    /proc/self/mountinfo
}

# On a hybrid host (memory controller mounted as cgroup v1, none in the unified root)
# prints the v1 memory mount: there, as systemd does for every unit, the bench mirrors
# each function cgroup in the v1 memory hierarchy so the agent measures its memory.
memory_v1_mirror_mount() {
  grep -qw memory "$(cgroup2_mount)/cgroup.controllers" 2>/dev/null && return 0
  awk '{for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup" && $(i + 3) ~ /(^|,)memory(,|$)/) { print $5; exit } break }}' \
    /proc/self/mountinfo
}

# mirror_of CGROUP: its v1 memory mirror ("" when not mirroring). Needs MOUNT, MEMORY_V1.
mirror_of() { [[ -n ${MEMORY_V1:-} ]] && echo "$MEMORY_V1${1#"$MOUNT"}" || true; }

# make_fn_cgroups PARENT N SLEEPER_EVERY: creates PARENT/fn-f0.scope .. fn-f<N-1>.scope;
# every SLEEPER_EVERY-th gets a sleeping process (0 = none).
make_fn_cgroups() {
  local parent=$1 n=$2 every=$3 i mirror
  mirror=$(mirror_of "$parent")
  mkdir -p "$parent"
  [[ -z $mirror ]] || mkdir -p "$mirror"
  for ((i = 0; i < n; i++)); do
    mkdir "$parent/fn-f$i.scope"
    [[ -z $mirror ]] || mkdir "$mirror/fn-f$i.scope"
    if ((every > 0 && i % every == 0)); then
      start_in_cgroup "$parent/fn-f$i.scope" sleep infinity
    fi
  done
}

# start_in_cgroup CGROUP CMD...: the process joins the cgroup before exec, so all of its
# CPU time is charged there.
start_in_cgroup() {
  local cg=$1 mirror
  shift
  mirror=$(mirror_of "$cg")
  sh -c 'echo $$ > "$0/cgroup.procs" && { [ -z "$1" ] || echo $$ > "$1/cgroup.procs"; } && shift && exec "$@"' \
    "$cg" "$mirror" "$@" >/dev/null 2>&1 &
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
  local mirror
  mirror=$(mirror_of "$parent")
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    [[ -z $mirror || ! -d $mirror ]] || find "$mirror" -mindepth 0 -depth -type d -exec rmdir {} + 2>/dev/null || true
    find "$parent" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
    rmdir "$parent" 2>/dev/null || true
    [[ ! -d $parent && ( -z $mirror || ! -d $mirror ) ]] && return 0
    sleep 0.2
  done
  echo "warning: could not remove $parent" >&2
  return 1
}

# count_fn_cgroups PARENT
count_fn_cgroups() { find "$1" -mindepth 1 -maxdepth 1 -type d -name 'fn-*.scope' | wc -l; }

# Shared set-up of the whole-system benchmarks: a parent cgroup under the cgroup2 mount
# holding COUNT function cgroups (every SLEEPER_EVERY-th with a sleeping process) and
# BURNERS small burners at FRACTION of a core, a temp dir, and a trap that stops the
# agent and removes everything on exit or Ctrl-C. Sets MOUNT, NAME, PARENT, TMP, AGENT_PID.
#   setup_bench_cgroups TAG COUNT SLEEPER_EVERY BURNERS BURNER_BIN FRACTION
setup_bench_cgroups() {
  local tag=$1 count=$2 sleeper_every=$3 burners=$4 burner_bin=$5 fraction=$6
  MOUNT=$(cgroup2_mount)
  [[ -n $MOUNT ]] || die "no cgroup2 mount in /proc/self/mountinfo"
  MEMORY_V1=$(memory_v1_mirror_mount)
  [[ -z $MEMORY_V1 ]] || echo "== hybrid host: mirroring the function cgroups in the v1 memory hierarchy at $MEMORY_V1"
  NAME=antiphase-$tag-$$  # the cgroup root, relative to the mount, for the agent's config
  PARENT=$MOUNT/$NAME
  TMP=$(mktemp -d "/tmp/antiphase-$tag.XXXXXX")
  AGENT_PID=
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  echo "== $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r)"
  echo "== creating $count function cgroups under $PARENT"
  make_fn_cgroups "$PARENT" "$count" "$sleeper_every"
  local i
  for ((i = 0; i < burners; i++)); do
    start_in_cgroup "$PARENT/fn-f$((i * 97 % count + 1)).scope" "$burner_bin" "$fraction"
  done
}

bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_agent
  remove_fn_cgroups "$PARENT" || rc=1
  rm -rf "$TMP"
  exit $rc
}
