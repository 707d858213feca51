# Booted Debian 12 containers with systemd as PID 1, for the live tests (sourced).
#
# A debootstrap minbase root with systemd, systemd-sysv and dbus is built once and
# cached under $ANTIPHASE_CI_CACHE (default /var/cache/antiphase-ci); every container
# boots from it through an overlayfs, so a run never changes the cache. Containers run
# with systemd-nspawn -b --register=no --keep-unit (no systemd needed on the host) and
# are entered with nsenter -t <their PID 1> -a. They share the host's network
# namespace: apt reaches the host's Debian mirror, and two containers reach each other
# on loopback. Each container gets its own cgroup (nspawn would otherwise put every
# container at the same <its cgroup>/payload).
#
# Needs root, systemd-container, debootstrap, an overlayfs-capable kernel.

LIVE_CACHE=${ANTIPHASE_CI_CACHE:-/var/cache/antiphase-ci}
# Bump when the recipe below changes: a new name makes a new cached root.
LIVE_BASE_RECIPE=2
LIVE_BASE_PACKAGES=systemd,systemd-sysv,dbus
LIVE_BASE_PREFETCH="adduser curl libbpf1 libcurl4 libfmt9 libmicrohttpd12 libprotobuf32 libspdlog1.10-fmt9 libtomlplusplus3 libzmq5"
LIVE_CONTAINERS=()   # names booted by this run, for live_cleanup

live_log() { echo "      $*"; }
not_running() { ! kill -0 "$1" 2>/dev/null; }

# wait_until SECONDS COMMAND...: polls COMMAND every 0.2 s until it succeeds.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS >= deadline)) && return 1
    sleep 0.2
  done
}

# The host's Debian archive URI (from its apt sources), so the containers use the same
# mirror and package versions as the machine that built the .deb.
live_debian_mirror() {
  if [ -n "${ANTIPHASE_DEBIAN_MIRROR:-}" ]; then echo "$ANTIPHASE_DEBIAN_MIRROR"; return; fi
  local uri
  uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
  [ -n "$uri" ] || return 1
  echo "$uri"
}

# live_base: prints the path of the cached base root, building it when missing.
live_base() { live_image minbase ""; }

# live_image NAME "PACKAGES": prints the path of a cached root: the base plus PACKAGES
# (apt-get install --no-install-recommends in a chroot), built when missing. Concurrent
# runs wait on a lock; a half-built root is never visible under its name.
live_image() {
  local flavor=$1 extra=$2
  local image="$LIVE_CACHE/bookworm-$flavor-r$LIVE_BASE_RECIPE"
  mkdir -p "$LIVE_CACHE"
  exec {lock_fd}>"$LIVE_CACHE/.lock"
  flock -w 1200 "$lock_fd" || { echo "cannot lock $LIVE_CACHE/.lock" >&2; return 1; }
  if [ ! -x "$image/lib/systemd/systemd" ]; then
    local tmp
    tmp=$(mktemp -d "$LIVE_CACHE/.building.XXXXXX")
    if [ -z "$extra" ]; then
      live_debootstrap "$tmp" || { rm -rf "$tmp"; exec {lock_fd}>&-; return 1; }
    else
      local base="$LIVE_CACHE/bookworm-minbase-r$LIVE_BASE_RECIPE"
      if [ ! -x "$base/lib/systemd/systemd" ]; then
        live_debootstrap "$tmp" || { rm -rf "$tmp"; exec {lock_fd}>&-; return 1; }
        rm -rf "$base"; cp -a "$tmp/root" "$base"
      else
        cp -a "$base" "$tmp/root"
      fi
      echo "      adding $extra to the container image, once" >&2
      if ! chroot "$tmp/root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $extra \
          >>"$tmp/build.log" 2>&1; then
        tail -n 20 "$tmp/build.log" >&2
        rm -rf "$tmp"; exec {lock_fd}>&-; return 1
      fi
    fi
    # Older recipes stay: a run of an older tree may have one mounted.
    rm -rf "$image"
    mv "$tmp/root" "$image"
    rm -rf "$tmp"
  fi
  exec {lock_fd}>&-
  echo "$image"
}

# Debootstraps the base into DIR/root.
live_debootstrap() {
  local tmp=$1 mirror
  mirror=$(live_debian_mirror) || { echo "no Debian mirror in the host's apt sources" >&2; return 1; }
  echo "      building the container base (debootstrap minbase $LIVE_BASE_PACKAGES), once" >&2
  mkdir -p "$LIVE_CACHE/debs"
  if ! debootstrap --variant=minbase --include="$LIVE_BASE_PACKAGES" --cache-dir="$LIVE_CACHE/debs" \
      bookworm "$tmp/root" "$mirror" >"$tmp/build.log" 2>&1; then
    tail -n 20 "$tmp/build.log" >&2
    return 1
  fi
  # The host's apt sources (main archive, updates, security) and package lists, so
  # `apt-get install ./antiphase.deb` resolves the same library versions as the host.
  rm -f "$tmp/root/etc/apt/sources.list"
  cp /etc/apt/sources.list.d/debian.sources "$tmp/root/etc/apt/sources.list.d/" 2>/dev/null ||
    cp /etc/apt/sources.list "$tmp/root/etc/apt/sources.list"
  chroot "$tmp/root" apt-get update -qq >>"$tmp/build.log" 2>&1 || true
  # The agent's run-time libraries and Recommends in apt's archive cache, so installing
  # the .deb does not download them on every run (a new dependency is fetched then).
  chroot "$tmp/root" apt-get install -y -qq --download-only $LIVE_BASE_PREFETCH >>"$tmp/build.log" 2>&1 || true
}

# The cgroup2 mount and (hybrid hosts) the name=systemd v1 mount of the host.
live_cgroup_mounts() {
  awk '{ for (i = 1; i <= NF; i++) if ($i == "-") {
           if ($(i + 1) == "cgroup2") print $5
           else if ($(i + 1) == "cgroup" && $(i + 3) ~ /name=systemd/) print $5
           break } }' /proc/self/mountinfo
}

# live_boot NAME WORKDIR [systemd-nspawn options...]: boots a container from the base
# root, waits until its systemd is up, and sets LIVE_PID1[NAME] and LIVE_ROOT[NAME].
declare -A LIVE_PID1 LIVE_ROOT LIVE_NSPAWN LIVE_CGROUP LIVE_DIR
live_boot() {
  local name=$1 work=$2; shift 2
  local base dir
  base=${LIVE_BOOT_IMAGE:-$(live_base)} || return 1
  dir="$work/$name"
  mkdir -p "$dir/upper" "$dir/work" "$dir/root"
  mount -t overlay overlay -o "lowerdir=$base,upperdir=$dir/upper,workdir=$dir/work" "$dir/root" || return 1
  LIVE_CONTAINERS+=("$name")
  # debootstrap copied the host's /etc/hostname; every container gets its own name
  # (the agent's default gossip node_id is the host name).
  echo "$name" >"$dir/root/etc/hostname"
  # dpkg without fsync, as in container images: the containers are thrown away.
  echo force-unsafe-io >"$dir/root/etc/dpkg/dpkg.cfg.d/antiphase-ci-unsafe-io"
  LIVE_ROOT[$name]=$dir/root
  LIVE_DIR[$name]=$dir
  local cg="antiphase-live/$name"
  LIVE_CGROUP[$name]=$cg
  local mounts
  mounts=$(live_cgroup_mounts | tr '\n' ' ')
  # The subshell moves itself into the container's own cgroup(s), then becomes nspawn.
  (
    for m in $mounts; do mkdir -p "$m/$cg" && echo "$BASHPID" >"$m/$cg/cgroup.procs"; done
    exec systemd-nspawn -D "$dir/root" -b --register=no --keep-unit --console=passive \
      -M "$name" "$@" </dev/null >"$dir/console.log" 2>&1
  ) &
  LIVE_NSPAWN[$name]=$!
  disown "$!"   # killed at the end if it hangs; no job-control noise
  local pid1=""
  local deadline=$((SECONDS + 60))
  while [ -z "$pid1" ]; do
    pid1=$(pgrep -P "${LIVE_NSPAWN[$name]}" -x systemd | head -n1)
    if [ -z "$pid1" ]; then
      if ! kill -0 "${LIVE_NSPAWN[$name]}" 2>/dev/null || ((SECONDS >= deadline)); then
        echo "container $name did not boot:" >&2; tail -n 20 "$dir/console.log" >&2
        return 1
      fi
      sleep 0.2
    fi
  done
  LIVE_PID1[$name]=$pid1
  # systemctl needs PID 1's private socket; then is-system-running --wait returns once
  # the boot finished: running or degraded.
  local state=""
  if wait_until $((deadline - SECONDS)) nsenter -t "$pid1" -a test -S /run/systemd/private; then
    state=$(timeout 120 nsenter -t "$pid1" -a systemctl is-system-running --wait 2>/dev/null)
  fi
  case "$state" in
    running) ;;
    degraded) live_log "container $name booted degraded: $(in_container "$name" systemctl --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')" ;;
    *) echo "container $name: systemd state '$state'" >&2; tail -n 20 "$dir/console.log" >&2; return 1 ;;
  esac
}

# in_container NAME COMMAND...: runs COMMAND in all of the container's namespaces
# (it stays in the caller's cgroup: start workloads with systemd-run instead).
in_container() {
  local name=$1; shift
  nsenter -t "${LIVE_PID1[$name]}" -a "$@"
}

# Copies a host file into the container.
live_copy_in() { in_container "$1" sh -c 'cat >"$1"' _ "$3" <"$2"; }

# Powers a container off (systemd stops its services, so the agent saves its state),
# waits for nspawn to exit, and removes its overlay and cgroups.
live_poweroff() {
  local name=$1
  local nspawn=${LIVE_NSPAWN[$name]:-} pid1=${LIVE_PID1[$name]:-}
  if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
    [ -n "$pid1" ] && in_container "$name" systemctl poweroff --no-block >/dev/null 2>&1
    if ! wait_until 60 not_running "$nspawn"; then
      # SIGKILL to the container's PID 1 ends its whole PID namespace; nspawn follows.
      live_log "container $name did not power off in 60 s; killing it"
      [ -n "$pid1" ] && kill -KILL "$pid1" 2>/dev/null
      wait_until 10 not_running "$nspawn" || kill -KILL "$nspawn" 2>/dev/null
    fi
  fi
  local dir=${LIVE_DIR[$name]:-}
  if [ -n "$dir" ]; then
    umount "$dir/root" 2>/dev/null || umount -l "$dir/root" 2>/dev/null
  fi
  local m
  for m in $(live_cgroup_mounts); do
    [ -d "$m/${LIVE_CGROUP[$name]}" ] && find "$m/${LIVE_CGROUP[$name]}" -depth -type d -exec rmdir {} \; 2>/dev/null
    rmdir "$m/antiphase-live" 2>/dev/null
  done
  LIVE_NSPAWN[$name]=""
}

live_cleanup() {
  local name
  for name in "${LIVE_CONTAINERS[@]}"; do live_poweroff "$name"; done
}

# live_apt_install NAME LOG ARGS...: apt-get install in the container; when the cached
# package lists have gone stale (the mirror moved on), refreshes them and tries again.
live_apt_install() {
  local name=$1 log=$2; shift 2
  in_container "$name" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$log" 2>&1 && return 0
  in_container "$name" apt-get update -qq >>"$log" 2>&1
  in_container "$name" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$log" 2>&1
}
