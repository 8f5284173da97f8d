# Lab services besides DNS: pebble (ACME CA), the push-notification
# stand-in, the file server, and what lab clients need to trust them.
# shellcheck shell=bash

TLS=$LAB_RUN/tls               # lab-CA-signed certificate of the service names
PUSH_LOG=$LAB_RUN/push/requests.jsonl
FILES=$LAB_RUN/files           # served at https://files.LAB_DOMAIN/
ACME_URL="https://pebble.$LAB_DOMAIN:14000/dir"
PUSH_URL="https://notifications.$LAB_DOMAIN/notify"

service_cert() {
    mkdir -p "$TLS"
    local d=$LAB_DOMAIN
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=services.$d" \
        -keyout "$TLS/services.key" -out "$TLS/services.csr" 2> /dev/null
    openssl x509 -req -in "$TLS/services.csr" -CA "$KEYS/ca.crt" -CAkey "$KEYS/ca.key" -CAcreateserial \
        -days 30 -out "$TLS/services.crt" -extfile <(printf '%s\n' \
            "subjectAltName=DNS:ns.$d,DNS:pebble.$d,DNS:notifications.$d,DNS:files.$d,IP:$GW,IP:$PUSH_IP,IP:$FILES_IP" \
            "extendedKeyUsage=serverAuth" "basicConstraints=critical,CA:FALSE") 2> /dev/null \
        || die "cannot sign the lab service certificate"
}

# pebble validates http-01/tls-alpn-01 challenges on the hosts' real ports
# 80/443 and resolves their names through the lab DNS. It makes a new root
# CA on every start; `up` installs that root into every host.
pebble_up() {
    cat > "$LAB_RUN/pebble.json" <<EOF
{ "pebble": { "listenAddress": "$GW:14000", "managementListenAddress": "$GW:15000",
  "certificate": "$TLS/services.crt", "privateKey": "$TLS/services.key",
  "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": false } }
EOF
    spawn pebble env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
        pebble -config "$LAB_RUN/pebble.json" -dnsserver "$GW:53"
    local get=(in_lab curl -fsS --max-time 5 --cacert "$KEYS/ca.crt")
    wait_for 20 "${get[@]}" -o "$LAB_RUN/pebble-root.pem" "https://pebble.$LAB_DOMAIN:15000/roots/0" \
        || die "pebble did not come up, see $LAB_RUN/pebble.log"
}

# Small stand-ins for the binaries a deploy downloads outside apt, named like
# the upstream release files, built reproducibly so their sha256 is stable;
# and the lab's patched Dovecot .debs (scripts/lab build).
make_files() {
    local arch deb_arch tmp n
    arch=$(uname -m); deb_arch=$(dpkg --print-architecture)
    mkdir -p "$FILES"; tmp=$(mktemp -d)
    # As a service a stand-in holds the port the real program listens on
    # (under the real program's process name, so `cmdeploy status` sees
    # what it sees on a real relay) and otherwise idles.
    local listen
    for n in iroh-relay chatmail-turn filtermail mtail; do
        case $n in
            iroh-relay) listen="proto=tcp addr=:: port=3340" ;;
            chatmail-turn) listen="proto=udp addr=:: port=3478" ;;
            mtail) listen="proto=tcp addr=127.0.0.1 port=3903" ;;   # --address=/--port= override
            *) listen="port=" ;;
        esac
        { printf '#!/bin/sh\n# lab stand-in for %s: says who it is; as a service it holds its port and idles\n' "$n"
          printf 'name=%s\n%s\nsocket=\n' "$n" "$listen"
          cat "$LAB_SCRIPTS/lab.d/stand-in.sh"; } > "$tmp/$n"
        chmod 755 "$tmp/$n"; touch -d @0 "$tmp/$n"
    done
    local tarz=(tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner)
    "${tarz[@]}" -C "$tmp" -cf - ./iroh-relay | gzip -9n > "$FILES/iroh-relay-v0.35.0-$arch-unknown-linux-musl.tar.gz"
    "${tarz[@]}" -C "$tmp" -cf - mtail | gzip -9n > "$FILES/mtail_3.0.8_linux_$deb_arch.tar.gz"
    cp -p "$tmp/chatmail-turn" "$FILES/chatmail-turn-$arch-linux"
    cp -p "$tmp/filtermail" "$FILES/filtermail-$arch"
    rm -rf "$tmp"
    # The patched Dovecot of every suite, under Debian's file names (a
    # build for another suite than the source's says +debNu1 in its version).
    local dovecot f s version
    suite_cache "$LAB_DOVECOT_SOURCE_SUITE"; version=$(repo_dovecot_version "$REPO")
    for s in $(lab_suites); do
        dovecot=$(dovecot_cache_of "$version" "$s")
        if [ -n "$version" ] && [ -s "$dovecot/SHA256SUMS" ]; then
            for f in "$dovecot"/*.deb; do ln -f "$f" "$FILES/" 2> /dev/null || cp -p "$f" "$FILES/"; done
        else
            log "no patched Dovecot for $s yet (run scripts/lab build): $s relays cannot get dovecot_debs from this lab"
        fi
    done
    (cd "$FILES" && shopt -s nullglob && sha256sum -- *.tar.gz *-linux filtermail-* *.deb > SHA256SUMS)
    # the apt repos too, for LAB_APT=http: debian-SUITE, debian is LAB_SUITE's
    for s in $(lab_suites); do suite_cache "$s"; ln -sfn "$REPO" "$FILES/debian-$s"; done
    suite_cache "$LAB_SUITE"; ln -sfn "$REPO" "$FILES/debian"
}

https_up() {
    mkdir -p "$(dirname "$PUSH_LOG")"; : > "$PUSH_LOG"
    make_files
    local py=(/usr/bin/python3 "$LAB_SCRIPTS/lab.d/labhttp.py" --cert "$TLS/services.crt" --key "$TLS/services.key")
    spawn push "${py[@]}" --bind "$PUSH_IP" --record "$PUSH_LOG"
    spawn files "${py[@]}" --bind "$FILES_IP" --root "$FILES"
    local get=(in_lab curl -fsS --max-time 2 --cacert "$KEYS/ca.crt" -o /dev/null)
    wait_for 10 "${get[@]}" "https://files.$LAB_DOMAIN/SHA256SUMS" || die "file server did not come up, see $LAB_RUN/files.log"
    wait_for 10 in_lab curl -sS --max-time 2 --cacert "$KEYS/ca.crt" -o /dev/null "https://notifications.$LAB_DOMAIN/" \
        || die "push stand-in did not come up, see $LAB_RUN/push.log"
}

# Everything a lab client needs, as shell assignments in LAB_RUN/env.
write_client_env() {
    cat /etc/ssl/certs/ca-certificates.crt "$KEYS/ca.crt" "$LAB_RUN/pebble-root.pem" > "$LAB_RUN/ca-bundle.pem" 2> /dev/null \
        || cat "$KEYS/ca.crt" "$LAB_RUN/pebble-root.pem" > "$LAB_RUN/ca-bundle.pem"
    cat > "$LAB_RUN/env" <<EOF
LAB_RUN=$LAB_RUN
LAB_DOMAIN=$LAB_DOMAIN
LAB_HOSTS_UP="$(host_names | xargs)"
LAB_HOST_SUITES="$(for h in $(host_names); do printf "%s=%s " "$h" "$(host_suite "$h")"; done | sed "s/ $//")"
LAB_DNS=$GW
LAB_SSH_CONFIG=$LAB_RUN/ssh_config
LAB_KNOWN_HOSTS=$LAB_RUN/known_hosts
LAB_SSH_KEY=$KEYS/id_ed25519
LAB_CA=$KEYS/ca.crt
LAB_PEBBLE_ROOT=$LAB_RUN/pebble-root.pem
LAB_CA_BUNDLE=$LAB_RUN/ca-bundle.pem
LAB_ACME_DIRECTORY=$ACME_URL
LAB_NOTIFICATION_URL=$PUSH_URL
LAB_PUSH_LOG=$PUSH_LOG
LAB_FILES_URL=https://files.$LAB_DOMAIN/
LAB_FILES_DIR=$FILES
LAB_DELTACHAT_RPC_SERVER=$CLIENT/bin/deltachat-rpc-server
LAB_PYTHON=$CLIENT/bin/python
LAB_CORE_TESTS=$CLIENT/core-tests
LAB_DELTACHAT_VERSION=$LAB_DELTACHAT_VERSION
EOF
}

services_up() {
    service_cert
    dns_up
    pebble_up
    https_up
    write_client_env
}

services_down() { local s; for s in files push pebble nsd; do stop_pid "$s" 10; done; }

cmd_push_log() {
    need_up
    if [ "${1:-}" = --clear ]; then : > "$PUSH_LOG"; else cat "$PUSH_LOG"; fi
}

cmd_env() { need_up; cat "$LAB_RUN/env"; }
