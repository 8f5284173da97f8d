# Lab hosts: root filesystems, the nspawn supervisor, up/down, ssh/exec.
# shellcheck shell=bash

# rootfs_up NAME: mount (or reuse) the host's root and personalize a fresh one
rootfs_up() {
    local name=$1 root fresh=0 suite
    root=$(root_of "$name")
    suite=$(host_suite "$name"); suite_cache "$suite"
    if [ "$LAB_ROOTFS" = overlay ]; then
        # nspawn cannot overlay "/" itself; our own overlayfs is persistent
        # across container restarts and costs nothing to create
        mkdir -p "$root.ovl/upper" "$root.ovl/work" "$root"
        if [ -f "$root.ovl/lowerdir" ] && [ "$(cat "$root.ovl/lowerdir")" != "lowerdir=$BASE," ]; then
            die "$name: its kept root was made on another cache ($(cat "$root.ovl/lowerdir")); run 'scripts/lab down' without --keep"
        fi
        echo "lowerdir=$BASE," > "$root.ovl/lowerdir"   # lets build see which base kept roots need
        [ -n "$(ls -A "$root.ovl/upper")" ] || fresh=1
        mountpoint -q "$root" || mount -t overlay overlay \
            -o "lowerdir=$BASE,upperdir=$root.ovl/upper,workdir=$root.ovl/work" "$root"
    elif [ ! -e "$root/etc/os-release" ]; then
        rm -rf --one-file-system "$root"
        cp -a --reflink=auto "$BASE" "$root"
        fresh=1
    fi
    if [ "$fresh" = 1 ]; then
        echo "$name.$LAB_DOMAIN" > "$root/etc/hostname"
        # the base image holds the resolver of the lab it was built for; a
        # lab on another LAB_NET needs its own
        echo "nameserver $GW" > "$root/etc/resolv.conf"
        printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s %s\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
            "$name.$LAB_DOMAIN" "$name" > "$root/etc/hosts"
        systemd-id128 new > "$root/etc/machine-id"
        # the cached base has the resolver of the lab it was built for
        echo "nameserver $GW" > "$root/etc/resolv.conf"
        ssh-keygen -q -A -f "$root" > /dev/null
        [ "$LAB_APT" != http ] || echo "deb [trusted=yes] https://files.$LAB_DOMAIN/debian-$suite/ ./" > "$root/etc/apt/sources.list"
    fi
}

# pebble's root is new with every lab: trust it like a public CA, so hosts
# accept each other's ACME certificates. Done by hand because
# update-ca-certificates takes seconds per host: into the bundle most TLS
# stacks read (replacing the previous lab's root), as a hashed file for
# CApath users, and into /usr/local/share so the host's own
# update-ca-certificates keeps it.
trust_pebble_root() {
    local root=$1 certs=$1/etc/ssl/certs mark="# chatlab pebble root" hash
    install -m 644 "$LAB_RUN/pebble-root.pem" "$root/usr/local/share/ca-certificates/chatlab-pebble.crt"
    ln -sfn /usr/local/share/ca-certificates/chatlab-pebble.crt "$certs/chatlab-pebble.pem"
    hash=$(openssl x509 -noout -subject_hash -in "$LAB_RUN/pebble-root.pem")
    ln -sfn chatlab-pebble.pem "$certs/$hash.0"
    { awk -v m="$mark" '$0 == m { skip = 1; next } skip && /^-----END/ { skip = 0; next } !skip' "$certs/ca-certificates.crt"
      echo "$mark"; cat "$LAB_RUN/pebble-root.pem"; } > "$certs/ca-certificates.crt.new"
    mv "$certs/ca-certificates.crt.new" "$certs/ca-certificates.crt"
}

# internal: supervise one host. SIGTERM to nspawn makes it send SIGRTMIN+3 to
# the container's systemd, a clean shutdown. A reboot inside the container
# makes nspawn exit with 133; the loop then boots it again, like a server.
# own_cgroup NAME: move this process into cgroups of its own, one per
# mounted hierarchy. With --keep-unit nspawn uses the caller's cgroup for the
# container; two containers started from the same shell would share it, and
# their systemds create and remove the same unit cgroups under each other
# (seen as "Failed to attach to cgroup ... No such file or directory" at
# boot). Best effort: a hierarchy that refuses leaves the process where it is.
own_cgroup() {
    local h d
    for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
        [ -e "$h/cgroup.procs" ] || continue
        d="$h/lab-$LAB_NS-$1"
        mkdir -p "$d" 2> /dev/null || continue
        # a v1 cpuset cgroup takes no process before it has cpus and mems
        if [ -e "$d/cpuset.cpus" ] && [ -z "$(cat "$d/cpuset.cpus" 2> /dev/null)" ]; then
            cat "$h/cpuset.cpus" > "$d/cpuset.cpus" 2> /dev/null
            cat "$h/cpuset.mems" > "$d/cpuset.mems" 2> /dev/null
        fi
        echo $$ > "$d/cgroup.procs" 2> /dev/null || true
    done
}

# drop_cgroup NAME: leave own_cgroup's cgroups and remove them with what the
# container left in them (deepest first)
drop_cgroup() {
    local h
    for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
        [ -d "$h/lab-$LAB_NS-$1" ] || continue
        echo $$ > "$h/cgroup.procs" 2> /dev/null
        find "$h/lab-$LAB_NS-$1" -depth -type d -exec rmdir {} \; 2> /dev/null || true
    done
}

cmd___run() {
    local name=$1 root child='' rc=0 stop=0 s repos=()
    root=$(root_of "$name")
    # its own suite's repo is its apt source; every suite's repo is at
    # /srv/lab-repos/SUITE, for release upgrades
    for s in $(lab_suites); do suite_cache "$s"; repos+=("--bind-ro=$REPO:/srv/lab-repos/$s"); done
    suite_cache "$(host_suite "$name")"
    echo $$ > "$LAB_RUN/$name.pid"
    own_cgroup "$name"
    trap 'stop=1; [ -z "$child" ] || kill -TERM "$child" 2> /dev/null || true' TERM INT HUP
    while :; do
        # --register=no --keep-unit: the machine has no systemd/system bus
        systemd-nspawn -D "$root" --boot --machine="$name" \
            --register=no --keep-unit \
            --network-namespace-path="/run/netns/$LAB_NS-$name" \
            --resolv-conf=off --timezone=off --link-journal=no --console=read-only \
            --bind-ro="$REPO:/srv/lab-repo" "${repos[@]}" &
        child=$!
        [ "$stop" = 0 ] || kill -TERM "$child" 2> /dev/null || true
        rc=0; wait "$child" || rc=$?
        while kill -0 "$child" 2> /dev/null; do rc=0; wait "$child" || rc=$?; done
        child=''
        [ "$stop" = 0 ] && [ "$rc" = 133 ] || break
        echo "[lab] $name rebooted, booting again"
    done
    drop_cgroup "$name"
    exit "$rc"
}

boot() {
    local name=$1
    [ -z "$(alive_pid "$name")" ] || die "$name is already running"
    rm -f "$LAB_RUN/$name.pid"
    (close_locks; exec setsid "$SELF" __run "$name" >> "$LAB_RUN/$name.log" 2>&1 < /dev/null) &
    wait_for 5 test -s "$LAB_RUN/$name.pid" || die "$name: supervisor did not start, see $LAB_RUN/$name.log"
}

lab_ssh() { in_lab ssh -F "$LAB_RUN/ssh_config" "$@"; }

# wait_ready NAME: until sshd answers and systemd has finished booting
wait_ready() {
    local name=$1 t0=$SECONDS state
    until lab_ssh -o ConnectTimeout=1 "$name" true 2> /dev/null; do
        [ -n "$(alive_pid "$name")" ] || { tail -20 "$LAB_RUN/$name.log" >&2; die "$name exited while booting"; }
        [ $((SECONDS - t0)) -lt "$LAB_BOOT_TIMEOUT" ] || die "$name: no ssh after ${LAB_BOOT_TIMEOUT}s, see $LAB_RUN/$name.log"
        sleep 0.2
    done
    state=$(lab_ssh "$name" timeout "$LAB_BOOT_TIMEOUT" systemctl is-system-running --wait) || true
    log "$name ($(host_ip "$name")) is $state"
}

# The client side: key, user, and a known_hosts file that starts empty and
# records each host key on first contact (accept-new); a changed key is
# refused. `down` forgets them together with the hosts.
write_ssh_config() {
    local name ip
    {
        echo "# generated by scripts/lab; use inside the lab: scripts/lab exec ssh -F $LAB_RUN/ssh_config NAME"
        while read -r name ip; do printf 'Host %s %s\n  HostName %s\n' "$name" "$name.$LAB_DOMAIN" "$name.$LAB_DOMAIN"; done < "$LAB_RUN/hosts"
        printf '%s\n' "Host *" "  User root" "  IdentityFile $KEYS/id_ed25519" "  IdentitiesOnly yes" \
            "  StrictHostKeyChecking accept-new" "  UserKnownHostsFile $LAB_RUN/known_hosts" \
            "  BatchMode yes" "  ConnectTimeout 5" "  LogLevel ERROR"
    } > "$LAB_RUN/ssh_config"
    touch "$LAB_RUN/known_hosts"
}

cmd_up() {
    take_lock "/run/lock/$LAB_NS.lock" 300 "scripts/lab up/down"
    check_host_suites
    if ! caches_current; then
        die "no cache for these lab packages and settings yet ($BASE); run: scripts/lab build"
    fi
    lab_is_up && die "the lab is already up (scripts/lab down first)"
    local name ip i=0 t0=$SECONDS s
    mkdir -p "$LAB_RUN"
    rm -f "$LAB_RUN/cache"
    for s in $(lab_suites); do suite_cache "$s"; echo "$s $BASE $REPO"; done > "$LAB_RUN/cache.new"
    mv "$LAB_RUN/cache.new" "$LAB_RUN/cache"
    suite_cache "$LAB_SUITE"
    : > "$LAB_RUN/hosts"
    for name in $LAB_HOSTS; do
        # ve-NAME must fit the 15-character interface name limit
        [[ $name =~ ^[a-z][a-z0-9-]{0,11}$ ]] || die "bad host name '$name' in LAB_HOSTS (a-z, 0-9, -, at most 12 characters)"
        i=$((i + 1)); echo "$name $LAB_NET.$((10 + i))" >> "$LAB_RUN/hosts"
    done
    [ "$i" -ge 1 ] && [ "$i" -le 200 ] || die "LAB_HOSTS must name 1 to 200 hosts"
    trap 'rc=$?; [ "$rc" = 0 ] || log "up failed; scripts/lab down cleans up"' EXIT
    net_up
    # host roots are prepared in the background while the services start:
    # generating ssh host keys takes a few seconds
    local pids=()
    while read -r name ip; do
        host_net_up "$name" "$ip"
        rootfs_up "$name" & pids+=($!)
    done < "$LAB_RUN/hosts"
    services_up
    write_ssh_config
    log "network and services up ($((SECONDS - t0))s)"
    for ip in "${pids[@]}"; do wait "$ip" || die "preparing a host root failed"; done
    for name in $(host_names); do trust_pebble_root "$(root_of "$name")"; done
    log "host roots ready ($((SECONDS - t0))s)"
    for name in $(host_names); do boot "$name"; done
    for name in $(host_names); do wait_ready "$name"; done
    trap - EXIT
    log "lab up in $((SECONDS - t0))s; try: scripts/lab ssh $(host_names | head -1)"
}

cmd_ssh() { [ $# -ge 1 ] || die "usage: scripts/lab ssh NAME [CMD...]"; need_up; lab_ssh "$@"; }

# exec CMD: run CMD as a lab client, with the lab's variables (scripts/lab env)
# and the CA bundle in the variables common TLS stacks read.
cmd_exec() {
    [ $# -ge 1 ] || die "usage: scripts/lab exec CMD..."
    need_up
    set -a; . "$LAB_RUN/env"; set +a
    export SSL_CERT_FILE=$LAB_CA_BUNDLE CURL_CA_BUNDLE=$LAB_CA_BUNDLE REQUESTS_CA_BUNDLE=$LAB_CA_BUNDLE
    exec ip netns exec "$LAB_NS" "$@"
}

cmd_stop() {
    local name=${1:?usage: scripts/lab stop NAME} t0=$SECONDS
    host_ip "$name" > /dev/null
    stop_pid "$name" 60
    log "$name stopped in $((SECONDS - t0))s"
}

cmd_start() {
    local name=${1:?usage: scripts/lab start NAME}
    need_up; host_ip "$name" > /dev/null
    boot "$name"; wait_ready "$name"
}

# container_init NAME: pid (in this namespace) of the host's systemd, the
# init of its PID namespace, a child of nspawn
container_init() {
    local sup n c
    sup=$(alive_pid "$1") || return 1
    for n in $(ps -o pid= --ppid "$sup" 2> /dev/null); do
        for c in $(ps -o pid= --ppid "$n" 2> /dev/null); do
            grep -Eq '^NSpid:.*[[:space:]]1$' "/proc/$c/status" 2> /dev/null && { echo "$c"; return 0; }
        done
    done
    return 1
}

# crash NAME: a power cut. SIGKILL the host's systemd (the kernel then kills
# everything in its PID namespace) and nspawn, no shutdown; what was written
# to the root file system stays (the page cache is the machine's, not the
# host's). The supervisor sees nspawn die and exits; `start` boots again.
cmd_crash() {
    local name=${1:?usage: scripts/lab crash NAME} sup init nspawn
    need_up; host_ip "$name" > /dev/null
    sup=$(alive_pid "$name") || die "$name is not running"
    init=$(container_init "$name") || init=
    nspawn=$(ps -o pid= --ppid "$sup" 2> /dev/null | xargs)
    kill -KILL $init $nspawn 2> /dev/null || true
    for _ in $(seq 300); do
        ! running "$sup" && { [ -z "$init" ] || ! running "$init"; } && break
        sleep 0.1
    done
    running "$sup" && die "$name: supervisor $sup still runs 30 s after the crash"
    rm -f "$LAB_RUN/$name.pid"
    log "$name crashed (init ${init:-?}, nspawn ${nspawn:-?} killed)"
}

# reset NAME: back to a fresh, never-deployed host: power off (a crash is
# enough, its state is discarded), drop the root's changes, personalize and
# boot it again. The ssh host keys are kept, so known_hosts stays valid.
cmd_reset() {
    local name=${1:?usage: scripts/lab reset NAME} root keys t0=$SECONDS
    need_up; host_ip "$name" > /dev/null
    root=$(root_of "$name")
    [ -z "$(alive_pid "$name")" ] || cmd_crash "$name"
    keys=$(mktemp -d)
    cp -a "$root"/etc/ssh/ssh_host_* "$keys/" 2> /dev/null || true
    if [ "$LAB_ROOTFS" = overlay ]; then
        ! mountpoint -q "$root" || umount "$root" || umount -l "$root"
        rm -rf --one-file-system "$root.ovl/upper" "$root.ovl/work"
    else
        rm -rf --one-file-system "$root"
    fi
    rootfs_up "$name"
    [ -z "$(ls -A "$keys")" ] || cp -a "$keys"/ssh_host_* "$root/etc/ssh/"
    rm -rf "$keys"
    trust_pebble_root "$root"
    boot "$name"; wait_ready "$name"
    log "$name reset to a fresh host in $((SECONDS - t0))s"
}

cmd_status() {
    lab_is_up || { echo "lab is down"; return 0; }
    local s name
    printf '%-14s %-12s %s\n' SERVICE ADDRESS PID
    for s in "nsd $GW" "pebble $GW" "push $PUSH_IP" "files $FILES_IP"; do
        set -- $s; printf '%-14s %-12s %s\n' "$1" "$2" "$(alive_pid "$1" || echo stopped)"
    done
    for name in $(host_names); do
        printf '%-14s %-12s %s\n' "$name" "$(host_ip "$name")" "$(alive_pid "$name" || echo stopped)"
    done
}

cmd_down() {
    local keep=0 name root t0=$SECONDS p
    take_lock "/run/lock/$LAB_NS.lock" 300 "scripts/lab up/down"
    [ "${1:-}" = --keep ] && keep=1
    # hosts first, all at once: SIGTERM means a clean systemd shutdown
    for name in $(host_names); do p=$(alive_pid "$name") && kill -TERM "$p" 2> /dev/null || true; done
    for name in $(host_names); do stop_pid "$name" 60; done
    services_down
    net_down
    for name in $(host_names); do
        root=$(root_of "$name")
        ! mountpoint -q "$root" || umount "$root" || umount -l "$root"
        [ "$keep" = 1 ] || rm -rf --one-file-system "$root" "$root.ovl"
    done
    rm -rf "$LAB_RUN"
    log "lab down in $((SECONDS - t0))s$([ "$keep" = 1 ] && echo ', host roots kept')"
}
