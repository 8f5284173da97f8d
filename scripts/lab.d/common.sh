# Helpers shared by every lab command: logging, process bookkeeping, names.
# shellcheck shell=bash

KEYS=$LAB_DIR/lab-keys          # client ssh key and lab CA, kept between labs
CLIENT=$LAB_DIR/lab-client      # venv with the Delta Chat RPC server and client
BRIDGE=labbr0
GW=$LAB_NET.1                   # ns.LAB_DOMAIN, pebble.LAB_DOMAIN
PUSH_IP=$LAB_NET.2              # notifications.LAB_DOMAIN
FILES_IP=$LAB_NET.3             # files.LAB_DOMAIN
[ -n "$LAB_NET6" ] && [ ! -e /proc/net/if_inet6 ] && LAB_NET6=""   # host without IPv6

# Packages listed in LAB_PACKAGES_FILE: first word of each line, '#' comments.
lab_packages() { sed -e 's/#.*//' "$LAB_PACKAGES_FILE" | awk 'NF { print $1 }'; }

# Hosts run Debian LAB_SUITE unless LAB_HOST_SUITES names another suite
# for them ("relay2=trixie relay3=bookworm"). Every suite a lab uses has its
# own cache (base root filesystem + offline repo).
host_suite() {
    local w s=$LAB_SUITE
    for w in $LAB_HOST_SUITES; do [ "${w%%=*}" = "$1" ] && s=${w#*=}; done
    echo "$s"
}
# lab_suites: the suites of this lab's cache, LAB_SUITE first; always with
# LAB_DOVECOT_SOURCE_SUITE, whose repo names the Dovecot source version
lab_suites() {
    local w
    { echo "$LAB_SUITE"; echo "$LAB_DOVECOT_SOURCE_SUITE"; for w in $LAB_HOST_SUITES; do echo "${w#*=}"; done; } | awk '!seen[$0]++'
}
check_host_suites() {
    local w
    for w in $LAB_HOST_SUITES; do
        [[ $w =~ ^[a-z][a-z0-9-]*=[a-z]+$ ]] || die "LAB_HOST_SUITES: '$w' is not NAME=SUITE (e.g. relay2=trixie)"
    done
}

# The cache of a suite is named after what it is built from, so checkouts
# with different package lists or settings (several engineers, CI) each keep
# their own instead of rebuilding each other's.
cache_key() {   # cache_key [SUITE]
    { echo "format $LAB_BUILD_FORMAT ${1:-$LAB_SUITE} $LAB_MIRROR $LAB_SECURITY_MIRROR"
      echo "base $LAB_BASE_PKGS"; lab_packages 2> /dev/null | sort -u; } | sha256sum | cut -c1-12
}
cache_paths() { BASE=$LAB_DIR/lab-base-$1; REPO=$LAB_DIR/lab-repo-$1; }
# The patched Dovecot (build.sh) is cached per Dovecot version it is built
# from and per suite it is built on: lab-dovecot-VERSION-chatlabN[-SUITE]
# holds dovecot-core, -imapd and -lmtpd .debs and their SHA256SUMS (no
# suffix for LAB_DOVECOT_SOURCE_SUITE, where the source comes from). Bump
# LAB_DOVECOT_REV when the change to Debian's source changes (it is also the
# .debs' local version suffix).
LAB_DOVECOT_REV=chatlab1
LAB_DOVECOT_SOURCE_SUITE=bookworm   # Dovecot 2.3's last Debian release; trixie has 2.4
repo_dovecot_version() {   # repo_dovecot_version REPO: dovecot-core's Version in REPO/Packages
    awk '/^Package: / { p = $2 } p == "dovecot-core" && /^Version: / { print $2; exit }' "$1/Packages" 2> /dev/null
}
dovecot_cache_of() {       # dovecot_cache_of VERSION [SUITE]: its cache directory (file-name-safe)
    local suffix=
    [ "${2:-$LAB_DOVECOT_SOURCE_SUITE}" = "$LAB_DOVECOT_SOURCE_SUITE" ] || suffix=-$2
    echo "$LAB_DIR/lab-dovecot-$(sed 's/[^A-Za-z0-9.+-]/_/g' <<< "$1")-$LAB_DOVECOT_REV$suffix"
}

# A running lab keeps using the caches it booted from: LAB_RUN/cache has a
# "SUITE BASE REPO" line per suite (the first is LAB_SUITE's).
suite_cache() {   # suite_cache SUITE: sets BASE and REPO for SUITE
    local s b r
    if [ -s "$LAB_RUN/cache" ]; then
        while read -r s b r; do
            [ -n "$r" ] || { r=$b; b=$s; s=$LAB_SUITE; }   # a lab started before suites had one line "BASE REPO"
            [ "$s" = "$1" ] && { BASE=$b; REPO=$r; return 0; }
        done < "$LAB_RUN/cache"
    fi
    cache_paths "$(cache_key "$1")"
}
suite_cache "$LAB_SUITE"
log() { printf '[lab %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "scripts/lab must run as root (it creates network namespaces and containers)"; }

# take_lock FILE SECONDS WHAT: hold an exclusive lock on FILE until this
# process ends; wait up to SECONDS for another holder (several engineers or
# CI runs may share a machine).
LAB_LOCK_FDS=()
take_lock() {
    local fd
    mkdir -p "$(dirname "$1")"
    exec {fd}> "$1"
    LAB_LOCK_FDS+=("$fd")
    flock -n "$fd" && return 0
    log "waiting for another $3 to finish (lock $1)"
    flock -w "$2" "$fd" || die "another $3 still holds $1 after $2 s"
}

# In a child that outlives this command (daemons, host supervisors): close the
# lock descriptors, or the lock would be held for as long as the lab runs.
close_locks() { local fd; for fd in "${LAB_LOCK_FDS[@]}"; do eval "exec $fd>&-"; done; LAB_LOCK_FDS=(); }

lab_is_up() { [ -e "/run/netns/$LAB_NS" ]; }
need_up() { lab_is_up || die "the lab is not up (run: scripts/lab up)"; }

# IPv6 address for the host part of an IPv4 lab address (.11 -> LAB_NET6 + 11)
v6_of() { echo "$LAB_NET6${1##*.}"; }

# The registry of hosts written by `up` ("NAME IP" lines); before that, LAB_HOSTS.
host_names() {
    if [ -f "$LAB_RUN/hosts" ]; then cut -d' ' -f1 "$LAB_RUN/hosts"; else printf '%s\n' $LAB_HOSTS; fi
}
host_ip() {
    local name=$1 n ip i=0
    if [ -f "$LAB_RUN/hosts" ]; then
        while read -r n ip; do [ "$n" = "$name" ] && { echo "$ip"; return; }; done < "$LAB_RUN/hosts"
    else
        for n in $LAB_HOSTS; do i=$((i + 1)); [ "$n" = "$name" ] && { echo "$LAB_NET.$((10 + i))"; return; }; done
    fi
    die "unknown lab host '$name' (hosts: $(host_names | xargs))"
}
root_of() { echo "$LAB_DIR/$LAB_NS-$1"; }

# Is PID alive? A zombie counts as dead: a slow-reaping PID 1 (as on CI VMs)
# leaves our stopped daemons as zombies for seconds, and `kill -0` would
# still report them.
running() { local st; st=$(ps -o stat= -p "$1" 2> /dev/null) && [ -n "$st" ] && [ "${st#Z}" = "$st" ]; }

# pid of a process the lab started, if it still runs
alive_pid() { local f=$LAB_RUN/$1.pid p; [ -f "$f" ] && p=$(cat "$f") && [ -n "$p" ] && running "$p" && echo "$p"; }

# spawn NAME CMD...: run CMD detached in its own session inside the services
# netns, logging to LAB_RUN/NAME.log; its pid goes to LAB_RUN/NAME.pid.
spawn() {
    local name=$1; shift
    rm -f "$LAB_RUN/$name.pid"
    (close_locks; exec setsid nsenter --net="/run/netns/$LAB_NS" sh -c 'echo $$ > "$0"; exec "$@"' "$LAB_RUN/$name.pid" "$@" \
        >> "$LAB_RUN/$name.log" 2>&1 < /dev/null) &
    for _ in $(seq 50); do [ -s "$LAB_RUN/$name.pid" ] && return; sleep 0.1; done
    die "$name did not start, see $LAB_RUN/$name.log"
}

descendants() { local c; for c in $(ps -o pid= --ppid "$1" 2> /dev/null); do descendants "$c"; echo "$c"; done; }

# stop_pid NAME [TIMEOUT]: SIGTERM the recorded pid and wait; after TIMEOUT
# seconds SIGKILL it and all its descendants.
stop_pid() {
    local name=$1 t=${2:-20} p d
    p=$(alive_pid "$name") || { rm -f "$LAB_RUN/$name.pid"; return 0; }
    kill -TERM "$p" 2> /dev/null || true
    for _ in $(seq $((t * 10))); do running "$p" || break; sleep 0.1; done
    if running "$p"; then
        log "$name ($p) did not stop in ${t}s, killing it"
        d=$(descendants "$p"); kill -KILL "$p" $d 2> /dev/null || true
    fi
    rm -f "$LAB_RUN/$name.pid"
}

# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds
wait_for() {
    local t=$1; shift
    for _ in $(seq $((t * 10))); do "$@" > /dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}

# in_lab CMD...: run a client inside the services netns. `ip netns exec`
# bind-mounts /etc/netns/LAB_NS/resolv.conf over /etc/resolv.conf, so the
# client resolves NAME.LAB_DOMAIN through the lab DNS. (Daemons and nspawn
# use nsenter instead: `ip netns exec` also remounts /sys, which hides
# /sys/fs/cgroup from systemd-nspawn.)
in_lab() { ip netns exec "$LAB_NS" "$@"; }
