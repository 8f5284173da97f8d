#!/usr/bin/env bash
# Lab smoke suite: the lab itself works as the deploy tests need it to.
# Boot, SSH and host keys, isolation, the offline apt repo, DNS with every
# record type a relay's zone has, ACME from pebble, the push stand-in, the
# file server, and stop/start/reboot of a host. Run by `scripts/lab e2e`.
. "$(dirname "$0")/lib.sh"

read -r H1 H2 _ <<< "$LAB_HOSTS_UP"
D=$LAB_DOMAIN
ip_of() { awk -v h="$1" '$1 == h { print $2 }' "$LAB_RUN/hosts"; }
IP1=$(ip_of "$H1"); IP2=$(ip_of "$H2")

# ---- boot ----------------------------------------------------------------
for h in $H1 $H2; do
    check_eq "$h: systemctl is-system-running" running on "$h" systemctl is-system-running
    check_eq "$h: no failed units" "" on "$h" systemctl --failed --no-legend --plain
    check_eq "$h: hostname is the lab FQDN" "$h.$D" on "$h" hostname -f
done

check_fails "a second 'up' refuses while the lab is up" "already up" "$LAB" up

# ---- ssh: host key recorded on first contact, a changed key refused ------
for h in $H1 $H2; do
    want=$(cut -d' ' -f2 "$LAB_DIR/$LAB_NS-$h/etc/ssh/ssh_host_ed25519_key.pub")
    got=$(awk -v n="$h.$D" '$1 == n && $2 == "ssh-ed25519" { print $3 }' "$LAB_KNOWN_HOSTS")
    check "$h: known_hosts recorded its ed25519 key on first contact" test -n "$want" -a "$want" = "$got"
done
awk -v a="$H1.$D" -v b="$H2.$D" '$1 == b { $1 = a; print }' "$LAB_KNOWN_HOSTS" > "$TMP/wrong_known_hosts"
check_fails "ssh refuses a host whose key changed" "Host key verification failed" \
    client ssh -F "$LAB_SSH_CONFIG" -o UserKnownHostsFile="$TMP/wrong_known_hosts" -o StrictHostKeyChecking=yes "$H1" true
ssh-keygen -q -t ed25519 -N '' -f "$TMP/other_key"
check_fails "ssh refuses a key that is not the lab key" "Permission denied" \
    client env SSH_AUTH_SOCK= ssh -F /dev/null -o IdentityFile="$TMP/other_key" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o UserKnownHostsFile="$LAB_KNOWN_HOSTS" "root@$H1.$D" true

# ---- isolation: no route out of the lab, no route into it ---------------
# `ip route get` asks the kernel only; no packet is sent anywhere.
check_eq "$H1: no default route (IPv4, IPv6)" "" on "$H1" 'ip route show default; ip -6 route show default'
check_eq "$H1: IPv4 routing table is the lab /24" "$LAB_NET.0/24 dev eth0 proto kernel scope link src $IP1" \
    on "$H1" ip -4 route
check_fails "$H1: no route to an outside IPv4 address" "unreachable" on "$H1" ip route get 203.0.113.1
check_fails "$H1: no route to an outside IPv6 address" "unreachable" on "$H1" ip -6 route get 2001:db8::1
check_fails "lab clients: no route to an outside address" "unreachable" client ip route get 203.0.113.1
check_fails "lab clients: outside names do not resolve" "" client getent hosts deb.debian.org
check_eq "host namespace: lab subnet has the guard route" "unreachable $LAB_NET.0/24" ip route show "$LAB_NET.0/24"
[ -z "$LAB_NET6" ] || check_eq "host namespace: lab IPv6 subnet has the guard route" \
    "unreachable ${LAB_NET6}/64 dev lo metric 1024 pref medium" ip -6 route show "${LAB_NET6}/64"
check_fails "host namespace: no route to a lab host" "No route to host|unreachable" \
    timeout 3 bash -c "exec 3<>/dev/tcp/$IP1/22"
check "$H1 reaches $H2 inside the lab" on "$H1" "exec 3<>/dev/tcp/$H2.$D/22"

# ---- offline apt repository -------------------------------------------------
apt_update=$(on "$H2" apt-get update 2>&1); rc=$?
if [ "$rc" = 0 ] && ! grep -Eq '^(W|E):' <<< "$apt_update"; then pass "$H2: apt-get update offline, no warnings"
else fail "$H2: apt-get update offline, no warnings" "$apt_update"; fi
pkgs=$(sed -e 's/#.*//' "$LAB_PACKAGES_FILE" | awk 'NF { print $1 }' | xargs)
check "$H2: all lab packages installable at once (simulated)" on "$H2" apt-get install -s -q $pkgs
check "$H2: each lab package installable alone (simulated)" on "$H2" \
    "set -e; for p in $pkgs; do apt-get install -s -q \$p > /dev/null || { echo \"cannot install \$p\"; exit 1; }; done"
check "$H1: apt-get install curl dnsutils nginx acmetool" on "$H1" \
    "apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q curl dnsutils nginx acmetool >/dev/null"
check_fails "$H2: a package outside the repo fails clearly" "Unable to locate package" \
    on "$H2" apt-get install -s no-such-package-in-the-lab

# ---- DNS: a relay zone as `cmdeploy dns --zonefile` writes it -------------
rr() { printf '%-40s %-6s IN  %-5s  %s\n' "$1" 3600 "$2" "$3"; }
openssl genrsa 2048 2> /dev/null | openssl rsa -pubout 2> /dev/null | grep -v -- ----- | tr -d '\n' > "$TMP/dkim.b64"
dkim="v=DKIM1;k=rsa;p=$(cat "$TMP/dkim.b64");s=email;t=s"
dkim_split=$(fold -w 255 <<< "$dkim" | sed 's/.*/"&"/' | paste -sd' ')
Z=$H1.$D
{
    echo "; Required DNS entries"
    rr "$Z." A "$IP1"
    [ -z "$LAB_NET6" ] || rr "$Z." AAAA "${LAB_NET6}${IP1##*.}"
    rr "$Z." MX "10 $Z."
    rr "_mta-sts.$Z." TXT '"v=STSv1; id=202611220200"'
    rr "mta-sts.$Z." CNAME "$Z."
    rr "www.$Z." CNAME "$Z."
    rr "opendkim._domainkey.$Z." TXT "$dkim_split"
    echo; echo "; Recommended DNS entries"
    rr "$Z." TXT '"v=spf1 a ~all"'
    rr "_dmarc.$Z." TXT '"v=DMARC1;p=reject;adkim=s;aspf=s"'
    rr "$Z." CAA '0 issue "letsencrypt.org;accounturi=https://pebble.test:14000/my-account/1"'
    rr "_adsp._domainkey.$Z." TXT '"dkim=discardable"'
    rr "_submission._tcp.$Z." SRV "0 1 587 $Z."
    rr "_submissions._tcp.$Z." SRV "0 1 465 $Z."
    rr "_imap._tcp.$Z." SRV "0 1 143 $Z."
    rr "_imaps._tcp.$Z." SRV "0 1 993 $Z."
} > "$TMP/$Z.zone"
check "dns-publish a relay zone file" "$LAB" dns-publish "$TMP/$Z.zone"
check "the DKIM record is longer than one TXT string" test "${#dkim}" -gt 255
# every record, compared the way `cmdeploy dns` does: exact `dig +short` text
while read -r name _ _ type rdata; do
    case "$name" in ''|';'*) continue ;; esac
    check_eq "lab DNS answers $type ${name%.}" "$rdata" client dig +short @"ns.$D" "$name" "$type"
done < "$TMP/$Z.zone"
# and from a host: find the zone's NS through the resolver, then ask it
ns=$(on "$H1" dig -r -q "$Z" -t NS +noall +authority +answer | awk 'NF >= 5 && $4 == "NS" { print $5; exit }')
check_eq "$H1: NS of $Z found through its resolver" "ns.$D." echo "$ns"
check_eq "$H1: DKIM TXT from the zone's NS, split into strings" "$dkim_split" \
    on "$H1" dig "@${ns:-ns.$D}" -r -q "opendkim._domainkey.$Z" -t TXT +short
check_eq "$H1: reverse DNS of $H2" "$H2.$D." on "$H1" dig +short -x "$IP2"
sed -i 's/v=spf1 a ~all/v=spf1 mx -all/' "$TMP/$Z.zone"
check "dns-publish again (changed SPF)" "$LAB" dns-publish "$TMP/$Z.zone"
check_eq "lab DNS serves the republished record" '"v=spf1 mx -all"' client dig +short @"ns.$D" "$Z" TXT
printf '%s\n' "bad.$D. 3600 IN A 10.1.2.3.4" > "$TMP/bad.zone"
check_fails "dns-publish rejects a broken zone file, naming it" "$TMP/bad.zone" "$LAB" dns-publish "$TMP/bad.zone"
check "dns-unpublish the relay zone" "$LAB" dns-unpublish "$Z"
check_eq "after unpublish, the lab zone answers for $Z again" "10 $Z." client dig +short @"ns.$D" "$Z" MX
check_eq "after unpublish, its TXT records are gone" "" client dig +short @"ns.$D" "$Z" TXT

# ---- ACME: acmetool on a host gets a certificate from pebble ----------------
on "$H1" "mkdir -p /var/lib/acme/conf /var/lib/acme/desired
cat > /var/lib/acme/conf/target <<EOF
request:
  provider: $LAB_ACME_DIRECTORY
  key:
    type: ecdsa
    ecdsa-curve: nistp256
  challenge:
    webroot-paths:
      - /var/www/html/.well-known/acme-challenge
EOF
cat > /var/lib/acme/conf/responses <<EOF
\"acme-enter-email\": \"root@$H1.$D\"
\"acme-agreement:data:text/plain,Do%20what%20thou%20wilt\": true
EOF
printf 'satisfy:\n  names:\n    - %s\n' $H1.$D > /var/lib/acme/desired/$H1.$D" > /dev/null
check "$H1: acmetool reconcile against pebble" on "$H1" timeout 120 acmetool --batch reconcile
check_eq "$H1: certificate is for $H1.$D" "subject=CN = $H1.$D" \
    on "$H1" openssl x509 -noout -subject -in "/var/lib/acme/live/$H1.$D/cert"
check "$H1: the host trusts pebble's root (chain verifies)" on "$H1" \
    openssl verify -untrusted "/var/lib/acme/live/$H1.$D/chain" "/var/lib/acme/live/$H1.$D/cert"
on "$H1" "cp /var/lib/acme/live/$H1.$D/fullchain /etc/ssl/certs/lab-test.pem; cp /var/lib/acme/live/$H1.$D/privkey /etc/ssl/private/lab-test.key
cat > /etc/nginx/sites-enabled/lab-test <<EOF
server { listen 8443 ssl; ssl_certificate /etc/ssl/certs/lab-test.pem; ssl_certificate_key /etc/ssl/private/lab-test.key; return 200 \"hello from $H1\n\"; }
EOF
systemctl reload nginx" > /dev/null
check_eq "$H2: TLS to $H1 verifies with the pebble certificate" "hello from $H1" \
    on "$H2" "python3 -c 'import urllib.request as u; print(u.urlopen(\"https://$H1.$D:8443/\").read().decode().strip())'"
check_eq "lab client: TLS to $H1 verifies with the lab CA bundle" "hello from $H1" \
    client curl -fsS --cacert "$LAB_CA_BUNDLE" "https://$H1.$D:8443/"

# ---- push notification stand-in ---------------------------------------------
token="lab-token-$RANDOM$RANDOM"
check_eq "$H1: POST to the push stand-in answers 200" 200 \
    on "$H1" curl -sS -o /dev/null -w '%{http_code}' --data-binary "$token" "$LAB_NOTIFICATION_URL"
check "push log records the POST body and path" grep -q "\"body\": \"$token\", .*\"path\": \"/notify\"" "$LAB_PUSH_LOG"
check_eq "$H1: a status-410- token gets 410" 410 \
    on "$H1" curl -sS -o /dev/null -w '%{http_code}' --data-binary "status-410-$token" "$LAB_NOTIFICATION_URL"
check_eq "push-log shows both POSTs" 2 bash -c "'$LAB' push-log | grep -c '$token'"

# ---- file server ---------------------------------------------------------
tarball=$(awk '/iroh-relay-.*tar.gz/ { print $2 }' "$LAB_FILES_DIR/SHA256SUMS")
check "file server offers an iroh-relay tarball" test -n "$tarball"
check "$H1: download pinned by sha256 and run the stand-in" on "$H1" "set -e; cd \$(mktemp -d)
curl -fsS -O $LAB_FILES_URL$tarball; echo '$(grep "$tarball" "$LAB_FILES_DIR/SHA256SUMS")' | sha256sum -c --quiet
tar xzf $tarball ./iroh-relay; ./iroh-relay --version | grep -q 'iroh-relay lab-stand-in'"

# ---- the relay's unbound, forwarding to the lab DNS ------------------------
# What the relay-side setting must produce (docs/lab.md): forward everything
# to the lab DNS, and undo unbound's built-in empty zones for test. and 10.x.
check "$H2: install unbound and point it at the lab DNS" on "$H2" "set -e
DEBIAN_FRONTEND=noninteractive apt-get install -y -q unbound dns-root-data dnsutils > /dev/null
cat > /etc/unbound/unbound.conf.d/lab.conf <<EOF
server:
    local-zone: \"$D.\" nodefault
    domain-insecure: \"$D.\"
    local-zone: \"${LAB_NET%%.*}.in-addr.arpa.\" nodefault
    domain-insecure: \"${LAB_NET%%.*}.in-addr.arpa.\"
forward-zone:
    name: \".\"
    forward-addr: $LAB_DNS
EOF
systemctl restart unbound"
check_eq "$H2: unbound resolves MX of $H1" "10 $H1.$D." on "$H2" dig +short @127.0.0.1 "$H1.$D" MX
check_eq "$H2: unbound resolves rDNS of $H1" "$H1.$D." on "$H2" dig +short @127.0.0.1 -x "$IP1"
check_eq "$H2: unbound answers SERVFAIL for outside names" "SERVFAIL" \
    on "$H2" "dig @127.0.0.1 deb.debian.org A | grep -o 'status: [A-Z]*' | cut -d' ' -f2"

# ---- a Delta Chat client runs inside the lab --------------------------------
check_eq "lab client: deltachat-rpc-server runs" "$LAB_DELTACHAT_VERSION" \
    client "$LAB_DELTACHAT_RPC_SERVER" --version
check "lab client: core's test suite of the same version is cached" \
    grep -qx "format [0-9]* deltachat $LAB_DELTACHAT_VERSION" "$LAB_DIR/lab-client/.lab-stamp"
check "lab client: core's test suite is unpacked" ls "$LAB_CORE_TESTS/tests/test_something.py"
check "lab client: the Python RPC client imports" client "$LAB_PYTHON" -c "import deltachat_rpc_client"

# ---- stop, start, reboot ------------------------------------------------
check "stop $H2 (clean shutdown)" "$LAB" stop "$H2"
check_fails "$H2 is unreachable while stopped" "" "$LAB" ssh -o ConnectTimeout=2 "$H2" true
check "start $H2" "$LAB" start "$H2"
check_eq "$H2: running after start" running on "$H2" systemctl is-system-running --wait
on "$H2" systemctl reboot > /dev/null 2>&1 || true
sleep 2
up_again() { for _ in $(seq 60); do "$LAB" ssh -o ConnectTimeout=1 "$H2" true 2> /dev/null && return 0; sleep 0.5; done; return 1; }
check "$H2: back after a reboot inside the host" up_again
check_eq "$H2: running after reboot" running on "$H2" timeout 60 systemctl is-system-running --wait

finish
