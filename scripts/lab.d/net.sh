# The lab network: one services netns with a bridge, one netns per host with
# a veth into that bridge, no default route anywhere, and guard routes in the
# host namespace.
# shellcheck shell=bash

# overlaps CIDR: the machine's addresses and routes (main table) that overlap
# CIDR, ignoring the default route and our own guard route.
overlaps() {
    /usr/bin/python3 - "$1" <<'EOF'
import ipaddress, subprocess, sys
lab = ipaddress.ip_network(sys.argv[1])
fam = "-6" if lab.version == 6 else "-4"
ip = lambda *a: subprocess.run(["ip", fam, *a], capture_output=True, text=True, check=True).stdout.splitlines()
found = []
for line in ip("-o", "addr", "show"):
    f = line.split()
    if ipaddress.ip_interface(f[3]).network.overlaps(lab):
        found.append(f"address {f[3]} on {f[1]}")
for line in ip("route", "show"):
    f = line.split()
    if f[0] in ("default", "unreachable"):
        continue
    try:
        if ipaddress.ip_network(f[0], strict=False).overlaps(lab):
            found.append(f"route {line.strip()}")
    except ValueError:
        pass
print("; ".join(found))
EOF
}

# Refuse a subnet the machine already uses: lab addresses would shadow real ones.
net_check_free() {
    local used
    used=$(overlaps "$LAB_NET.0/24") || die "cannot read this machine's addresses and routes"
    [ -z "$used" ] || die "lab subnet $LAB_NET.0/24 is in use on this machine ($used); set LAB_NET to a free /24"
    if [ -n "$LAB_NET6" ]; then
        used=$(overlaps "${LAB_NET6}/64") || die "cannot read this machine's IPv6 addresses and routes"
        [ -z "$used" ] || die "lab subnet ${LAB_NET6}/64 is in use on this machine ($used); set LAB_NET6 to a free /64"
    fi
}

net_up() {
    net_check_free
    # Without these, the machine's default route would carry a stray packet
    # for a lab address (a client run outside `scripts/lab exec`) out to the
    # real network. With them it fails at once with "No route to host".
    ip route replace unreachable "$LAB_NET.0/24"
    [ -z "$LAB_NET6" ] || ip -6 route replace unreachable "${LAB_NET6}/64"

    ip netns add "$LAB_NS"
    local lab=(ip -n "$LAB_NS")
    "${lab[@]}" link set lo up
    "${lab[@]}" link add "$BRIDGE" type bridge
    "${lab[@]}" link set "$BRIDGE" up
    local a
    for a in "$GW" "$PUSH_IP" "$FILES_IP"; do "${lab[@]}" addr add "$a/24" dev "$BRIDGE"; done
    # IPv6 only for the DNS server: the hosts reach each other over both
    [ -z "$LAB_NET6" ] || "${lab[@]}" addr add "$(v6_of "$GW")/64" dev "$BRIDGE" nodad
    # `ip netns exec LAB_NS` mounts this over /etc/resolv.conf: lab clients
    # resolve lab names through the lab DNS and nothing else.
    mkdir -p "/etc/netns/$LAB_NS"
    printf 'nameserver %s\nsearch %s\n' "$GW" "$LAB_DOMAIN" > "/etc/netns/$LAB_NS/resolv.conf"
}

# host_net_up NAME IP: netns LAB_NS-NAME whose eth0 (IP/24) is a veth into the bridge
host_net_up() {
    local name=$1 ip=$2 ns=$LAB_NS-$1
    [ -e "/run/netns/$ns" ] && return 0
    ip netns add "$ns"
    ip -n "$LAB_NS" link add "ve-$name" type veth peer name eth0 netns "$ns"
    ip -n "$LAB_NS" link set "ve-$name" master "$BRIDGE" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$ip/24" dev eth0
    [ -z "$LAB_NET6" ] || ip -n "$ns" addr add "$(v6_of "$ip")/64" dev eth0 nodad
    ip -n "$ns" link set eth0 up
    # deliberately no default route: the lab /24 (and /64) is all there is
}

# Kill whatever still runs in a netns, then delete it. Deleting a netns also
# destroys its end of a veth pair and with it the peer on the bridge.
netns_del() {
    local ns=$1 pids
    [ -e "/run/netns/$ns" ] || return 0
    pids=$(ip netns pids "$ns" 2> /dev/null | xargs)
    if [ -n "$pids" ]; then
        log "killing leftover processes in netns $ns: $pids"
        kill -KILL $pids 2> /dev/null || true
        wait_for 5 sh -c "[ -z \"\$(ip netns pids $ns)\" ]" || log "netns $ns: processes still exiting"
    fi
    ip netns del "$ns"
}

net_down() {
    local name
    for name in $(host_names); do netns_del "$LAB_NS-$name"; done
    netns_del "$LAB_NS"
    rm -rf "/etc/netns/$LAB_NS"; rmdir /etc/netns 2> /dev/null || true
    ip route del unreachable "$LAB_NET.0/24" 2> /dev/null || true
    [ -z "$LAB_NET6" ] || ip -6 route del unreachable "${LAB_NET6}/64" 2> /dev/null || true
}
