# Helpers for suites that need deployed relays (scripts/test-relay-lab).
# Source after lib.sh. The standard pair, in the two TLS modes a lab can
# show, on two Debian releases (LAB_HOST_SUITES of scripts/test-relay-lab):
#   relay1.test    on host relay1, Debian 12, ACME certificate from the lab's pebble
#   _relay2.test   on host relay2, Debian 13, self-signed (the "_" prefix asks for it)
# and a third host for the release upgrade (relay-upgrade.sh):
#   relay3.test    on host relay3, Debian 12 until the suite upgrades it to 13
# shellcheck shell=bash

CMDEPLOY=${CMDEPLOY:-$PWD/.build/debug/cmdeploy}
CHATMAILD_BIN=${CHATMAILD_BIN:?build it with scripts/build-chatmaild}
RELAYLAB_STATE=${RELAYLAB_STATE:-/run/$LAB_NS/relaylab}   # ini and zone files, kept while the lab is up
mkdir -p "$RELAYLAB_STATE"
RELAY1=relay1.$LAB_DOMAIN
RELAY2=_relay2.$LAB_DOMAIN
RELAY1_HOST=relay1.$LAB_DOMAIN
RELAY2_HOST=relay2.$LAB_DOMAIN
RELAY1_INI=$RELAYLAB_STATE/relay1.ini
RELAY2_INI=$RELAYLAB_STATE/relay2.ini
RELAY3=relay3.$LAB_DOMAIN
RELAY3_HOST=relay3.$LAB_DOMAIN
RELAY3_INI=$RELAYLAB_STATE/relay3.ini
export CMDEPLOY CHATMAILD_BIN RELAYLAB_STATE RELAY1 RELAY2 RELAY1_HOST RELAY2_HOST RELAY1_INI RELAY2_INI RELAY3 RELAY3_HOST RELAY3_INI

relay_domain() { local v="RELAY$1"; echo "${!v}"; }
relay_host() { local v="RELAY$1_HOST"; echo "${!v}"; }
relay_ini() { local v="RELAY$1_INI"; echo "${!v}"; }
relay_ip() { echo "$LAB_NET.1$1"; }   # relay1 is .11, relay2 .12, relay3 .13 (scripts/lab.d/hosts.sh)
# relay_suite N: the Debian suite relay N's host booted with (scripts/lab env)
relay_suite() { local w s=bookworm; for w in ${LAB_HOST_SUITES:-}; do [ "${w%%=*}" = "relay$1" ] && s=${w#*=}; done; echo "$s"; }

# cm N ARGS...: cmdeploy ARGS for relay N, run as a lab client
cm() {
    local n=$1; shift
    client "$CMDEPLOY" "$@" --config "$(relay_ini "$n")" --ssh-host "$(relay_host "$n")" --ssh-config "$LAB_SSH_CONFIG"
}

# set_key INI KEY VALUE: set KEY in [params] (the only section of an init
# file), at its end; a VALUE of several lines goes onto indented
# continuation lines
set_key() {
    local ini=$1 key=$2 value=$3 line
    del_key "$ini" "$key" || return 1
    if [[ $value == *$'\n'* ]]; then
        { echo "$key ="; while IFS= read -r line; do echo "    $line"; done <<< "$value"; } >> "$ini"
    else
        echo "$key = $value" >> "$ini"
    fi
}

# del_key INI KEY: remove KEY (and its continuation lines) from the file
del_key() {
    KEY=$2 awk '
        cont && /^[ \t]/ { next }
        { cont = 0 }
        index($0, ENVIRON["KEY"]) == 1 && substr($0, length(ENVIRON["KEY"]) + 1) ~ /^ *=/ { cont = 1; next }
        { print }' "$1" > "$1.new" && mv "$1.new" "$1"
}

# lab_pin FILE: "URL SHA256" of a file on the lab's file server
lab_pin() {
    local sum; sum=$(awk -v f="$1" '$2 == f { print $1 }' "$LAB_FILES_DIR/SHA256SUMS")
    [ -n "$sum" ] || { echo "no $1 on the lab file server" >&2; return 1; }
    echo "${LAB_FILES_URL}$1 $sum"
}

# lab_dovecot_debs SUITE: dovecot_debs for a lab relay on SUITE, one "URL
# SHA256" line per .deb of the lab's patched Dovecot for it (scripts/lab
# build puts them on the file server; a build for Debian N other than 12
# has +debNu1 in its version); "+" written %2B in the URLs, as in
# upstream's pins
lab_dovecot_debs() {
    local suite=${1:-bookworm} p f pin lines=() re='[+]chatlab[0-9]+_'
    [ "$suite" = bookworm ] || re="[+]chatlab[0-9]+[+]deb$(suite_release "$suite")u1_"
    for p in dovecot-core dovecot-imapd dovecot-lmtpd; do
        f=$(awk -v p="${p}_" -v re="$re" 'index($2, p) == 1 && $2 ~ re && $2 ~ /\.deb$/ { print $2 }' "$LAB_FILES_DIR/SHA256SUMS")
        [ -n "$f" ] && [ "$(wc -l <<< "$f")" = 1 ] \
            || { echo "no single $p .deb on the lab file server (${f:-none}); run scripts/lab build" >&2; return 1; }
        pin=$(lab_pin "$f") || return 1
        lines+=("${pin//+/%2B}")
    done
    printf '%s\n' "${lines[@]}"
}

# write_ini N: a chatmail.ini for relay N that uses the lab's stand-ins
write_ini() {
    local n=$1 ini; ini=$(relay_ini "$n")
    "$CMDEPLOY" init "$(relay_domain "$n")" --config "$ini" --force > /dev/null || return 1
    set_key "$ini" privacy_mail "privacy@$(relay_domain "$n")"
    lab_ini_keys "$ini" || return 1
    set_dovecot "$n" "$(relay_dovecot "$n")"
}

# lab_ini_keys INI: what a lab relay needs instead of the internet: the lab's
# ACME CA, push stand-in and resolver, and the file server's download pins
lab_ini_keys() {
    local ini=$1
    set_key "$ini" acme_directory_url "$LAB_ACME_DIRECTORY"
    set_key "$ini" notification_url "$LAB_NOTIFICATION_URL"
    # lab hosts see the load of the machine running them (builds, other labs)
    set_key "$ini" max_load_1m 1000
    set_key "$ini" dns_forwarders "$LAB_DNS"
    set_key "$ini" dns_unsigned_zones "$LAB_DOMAIN ${LAB_NET%%.*}.in-addr.arpa"
    local arch deb_arch; arch=$(uname -m); deb_arch=$(dpkg --print-architecture)
    set_key "$ini" iroh_relay_download "$(lab_pin "iroh-relay-v0.35.0-$arch-unknown-linux-musl.tar.gz")"
    set_key "$ini" turn_download "$(lab_pin "chatmail-turn-$arch-linux")"
    # mtail's pin is the hash of the extracted binary, which the engine checks
    local mtail=mtail_3.0.8_linux_$deb_arch.tar.gz
    set_key "$ini" mtail_download "${LAB_FILES_URL}$mtail $(tar -xzOf "$LAB_FILES_DIR/$mtail" mtail | sha256sum | cut -d' ' -f1)"
}

# The lab's standard pair: relay2 runs Dovecot without the 500 ms IDLE
# delay (the default, and the only choice on Debian 13; the core suite runs
# against it), relay1 the opt-out, Debian 12's own Dovecot.
relay_dovecot() { [ "$1" = 1 ] && echo debian || echo patched; }

suite_release() { case $1 in bookworm) echo 12 ;; trixie) echo 13 ;; *) echo "unknown suite $1" >&2; return 1 ;; esac; }

# set_dovecot N patched|debian [SUITE]: which Dovecot relay N's ini asks
# for; patched comes from the lab's own build for SUITE (default: the suite
# relay N runs) on the file server (dovecot_debs), as upstream's builds on a
# real host
set_dovecot() { set_dovecot_ini "$(relay_ini "$1")" "$2" "${3:-$(relay_suite "$1")}"; }
# set_dovecot_ini INI patched|debian SUITE: the same for any ini file
set_dovecot_ini() {
    local ini=$1 suite=$3
    if [ "$2" = debian ]; then
        del_key "$ini" dovecot_debs
        set_key "$ini" dovecot_packages debian
    else
        local debs; debs=$(lab_dovecot_debs "$suite") || return 1
        del_key "$ini" dovecot_packages
        set_key "$ini" dovecot_debs "$debs"
    fi
}

# publish_base_zone N: the records a first deploy needs (ACME validates the
# web names); after the deploy `cmdeploy dns --zonefile` gives the full zone
publish_base_zone() {
    local n=$1 d ip zone; d=$(relay_domain "$n"); ip=$(relay_ip "$n")
    zone=$RELAYLAB_STATE/relay$n.base.zone
    {
        printf '%s. 3600 IN A %s\n' "$d" "$ip"
        printf '%s. 3600 IN MX 10 %s.\n' "$d" "$d"
        printf 'www.%s. 3600 IN CNAME %s.\n' "$d" "$d"
        printf 'mta-sts.%s. 3600 IN CNAME %s.\n' "$d" "$d"
    } > "$zone"
    "$LAB" dns-publish "$zone" "$d" > /dev/null
}

# publish_full_zone N: the zone `cmdeploy dns` writes (DKIM key read from the host)
publish_full_zone() {
    local n=$1 zone=$RELAYLAB_STATE/relay$1.zone
    cm "$n" dns --zonefile "$zone" > /dev/null 2>&1
    [ -s "$zone" ] || { echo "cmdeploy dns --zonefile wrote nothing for relay$n" >&2; return 1; }
    "$LAB" dns-publish "$zone" "$(relay_domain "$n")" > /dev/null
}

# deploy N [ARGS...]: cmdeploy run for relay N
deploy() {
    local n=$1; shift
    cm "$n" run --chatmaild-binary "$CHATMAILD_BIN" "$@"
}

# ensure_relays: both relays deployed and their zones published (idempotent;
# a deployed relay's rerun is a no-op of a few seconds)
ensure_relays() {
    local n
    for n in 1 2; do
        [ -s "$(relay_ini "$n")" ] || write_ini "$n" || return 1
        [ -s "$RELAYLAB_STATE/relay$n.zone" ] || publish_base_zone "$n" || return 1
        deploy "$n" > "$RELAYLAB_STATE/deploy$n.log" 2>&1 || { echo "deploy of relay$n failed:"; tail -n 30 "$RELAYLAB_STATE/deploy$n.log"; return 1; }
        [ -s "$RELAYLAB_STATE/relay$n.zone" ] || publish_full_zone "$n" || return 1
    done
}

# on_relay N CMD: run CMD as root on relay N's host
on_relay() { local n=$1; shift; on "relay$n" "$@"; }
