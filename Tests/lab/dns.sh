#!/usr/bin/env bash
# `cmdeploy dns` against a lab relay: write the zone, publish it in the lab
# DNS, check it; then break single records and see the check name them.
# Needs relay1 only; no deploy: the DKIM key and an ACME account URL are put
# on the host by hand, as a deployed relay would have them.
SUITE=dns-lab
. "$(dirname "$0")/lib.sh"

CMDEPLOY=${CMDEPLOY:-$PWD/.build/debug/cmdeploy}
D=relay1.$LAB_DOMAIN
ACCOUNT=https://pebble.$LAB_DOMAIN:14000/my-account/dnslab
INI=$TMP/chatmail.ini
ZONE=$TMP/$D.zone

cmdeploy() { client "$CMDEPLOY" "$@" --config "$INI" --ssh-host "$D" --ssh-config "$LAB_SSH_CONFIG"; }
# check_out NAME WANT UNWANTED CMD...: CMD's output (its exit status aside)
# must match WANT and must not match UNWANTED
check_out() {
    local name=$1 want=$2 unwanted=$3 out; shift 3
    out=$("$@" 2>&1)
    if grep -Eq -- "$want" <<< "$out" && ! grep -Eq -- "$unwanted" <<< "$out"; then pass "$name"; else fail "$name" "$out"; fi
}
last_line() { "$@" 2>&1 | tail -n 1; }
# without_lines PATTERN: the zone without the lines matching PATTERN, as a new zone file
without_lines() { grep -Ev -- "$1" "$ZONE" > "$TMP/$D.partial.zone" && echo "$TMP/$D.partial.zone"; }

"$CMDEPLOY" init "$D" --config "$INI" > /dev/null || { fail "cmdeploy init"; finish; exit; }

"$LAB" dns-unpublish "$D" > /dev/null 2>&1   # left from an earlier run on this lab
check "relay1: a DKIM key and an ACME account as a deployed relay has them" on relay1 "
    set -e
    mkdir -p /etc/dkimkeys
    openssl genrsa -out /etc/dkimkeys/opendkim.private 2048 2>/dev/null
    printf '#!/bin/sh\n[ \"\$1\" = account-url ] && echo $ACCOUNT\n' > /usr/local/bin/acmetool
    chmod 755 /usr/local/bin/acmetool"

check "dns --zonefile writes the zone (installing dig on the relay)" cmdeploy dns --zonefile "$ZONE"
check "zone: DKIM record split into strings of at most 255 bytes" \
    awk '/^opendkim._domainkey/ { n = split($0, s, "\""); if (n < 5) exit 1; for (i = 2; i < n; i += 2) if (length(s[i]) > 255) exit 1; f = 1 } END { exit !f }' "$ZONE"
check "zone: CAA with the ACME account URL" grep -q "CAA    0 issue \"letsencrypt.org;accounturi=$ACCOUNT\"" "$ZONE"
check "zone: A record of relay1" grep -Eq "^$D\. +3600 +IN  A +$LAB_NET.11$" "$ZONE"
check "zone: MTA-STS records (acme mode)" grep -q "^mta-sts.$D. .*CNAME  $D.$" "$ZONE"

check_fails "dns before publishing: exit 1, MTA-STS CNAME not set" \
    "NOT SET  mta-sts\.$D\. CNAME" cmdeploy dns
check_fails "run pre-check before publishing: MTA-STS CNAME missing" \
    "^Missing MTA-STS CNAME record:$" cmdeploy run --dry-run
check_out "run --skip-dns-check does not look up DNS" "login to $D" "Collecting initial DNS|Missing" \
    cmdeploy run -v --dry-run --skip-dns-check
check "publish the zone in the lab DNS" "$LAB" dns-publish "$ZONE" "$D"
check "dns with the published zone: exit 0" cmdeploy dns
check_eq "dns says all records are correct" "Great! All your DNS entries are verified and correct." \
    last_line cmdeploy dns

check_out "run pre-check with the published zone passes" "Collecting initial DNS settings" "Missing|DNS lookup" \
    cmdeploy run -v --dry-run

check "publish the zone without www CNAME and DMARC" "$LAB" dns-publish "$(without_lines '^(www\.|_dmarc\.)')" "$D"
check_fails "missing required record: exit 1 naming it" \
    "NOT SET  www\.$D\. CNAME" cmdeploy dns
check_fails "missing required record: its zone line to set" \
    "^www\.$D\. +3600 +IN  CNAME  $D\.$" cmdeploy dns
check_fails "missing recommended record is listed as a warning" \
    "these recommended DNS entries are not set:" cmdeploy dns

check "publish the zone without DMARC only" "$LAB" dns-publish "$(without_lines '^_dmarc\.')" "$D"
check "missing recommended record only: still exit 0" cmdeploy dns

# A second name server that does not answer (files.test runs no DNS server).
{ cat "$ZONE"; echo "$D. 3600 IN NS ns.$LAB_DOMAIN."; echo "$D. 3600 IN NS files.$LAB_DOMAIN."; } > "$TMP/$D.2ns.zone"
check "publish the zone with a second, dead name server" "$LAB" dns-publish "$TMP/$D.2ns.zone" "$D"
check "dead secondary: still exit 0" cmdeploy dns
check_out "dead secondary: named as unreachable, records still right" \
    "WARNING: name server files\.$LAB_DOMAIN is unreachable from the relay" "Please set required" cmdeploy dns

check "publish the full zone again" "$LAB" dns-publish "$ZONE" "$D"
check "relay1: a new DKIM key" on relay1 "openssl genrsa -out /etc/dkimkeys/opendkim.private 2048 2>/dev/null"
check_fails "changed DKIM key: exit 1, DKIM record set differently at ns.$LAB_DOMAIN" \
    "ns\.$LAB_DOMAIN: set differently: \"v=DKIM1;k=rsa;p=" cmdeploy dns

NOADDR_INI=$TMP/noaddr.ini
"$CMDEPLOY" init "nothere.$LAB_DOMAIN" --config "$NOADDR_INI" > /dev/null
check_fails "run pre-check: a domain without A/AAAA" "^Missing A and/or AAAA DNS records for nothere\.$LAB_DOMAIN!$" \
    client "$CMDEPLOY" run --dry-run --config "$NOADDR_INI" --ssh-host "$D" --ssh-config "$LAB_SSH_CONFIG"
# every missing record in one run, not one per try
all_missing() {
    local out; out=$(client "$CMDEPLOY" run --dry-run --config "$NOADDR_INI" --ssh-host "$D" --ssh-config "$LAB_SSH_CONFIG" 2>&1)
    for p in "^Missing A and/or AAAA DNS records" "^mta-sts\.nothere\.$LAB_DOMAIN\. +CNAME +nothere\.$LAB_DOMAIN\.$" \
             "^www\.nothere\.$LAB_DOMAIN\. +CNAME +nothere\.$LAB_DOMAIN\.$"; do
        grep -Eq "$p" <<< "$out" || { echo "no line /$p/ in:"; echo "$out"; return 1; }
    done
}
check "run pre-check: A/AAAA, mta-sts and www CNAME named in one run" all_missing

IP_INI=$TMP/ipv4.ini
"$CMDEPLOY" init "$LAB_NET.11" --config "$IP_INI" > /dev/null
check_eq "IPv4 relay: nothing to check" "[WARNING] $LAB_NET.11 is not a domain, skipping DNS checks." \
    "$CMDEPLOY" dns --config "$IP_INI"
finish
