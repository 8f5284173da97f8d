#!/usr/bin/env bash
# Prepare this machine to build and run cmdeploy and chatmaild:
# install the system packages the build needs (Debian/Ubuntu, as root),
# then build the release folder (.build/release-folder: cmdeploy, chatmaild).
#
#   scripts/initenv.sh              packages + release folder (scripts/release)
#   scripts/initenv.sh --deps       build packages only
#   scripts/initenv.sh --test-deps  build and test packages (used by scripts/test)
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and test dependencies. Later parts of the project add to this list.
BUILD_PACKAGES=(pkg-config libssh2-1-dev libssl-dev)
# The web page builder: Markdown (cmark-gfm). QR codes are encoded by our
# own Sources/Website/QREncoder.swift.
BUILD_PACKAGES+=(libcmark-gfm-dev libcmark-gfm-extensions-dev)

# Only for the tests, never needed to deploy:
# zbarimg decodes the QR codes, headless Chromium renders and screenshots the
# pages, curl fetches them; the SSH tests run a real sshd and use ssh-keygen,
# ssh-agent and scp.
TEST_PACKAGES=(zbar-tools chromium fonts-dejavu-core curl)
TEST_PACKAGES+=(openssh-server openssh-client)
# filtermail's integration test and benchmark run a throw-away Postfix and
# use its smtp-sink/smtp-source. Installed as "No configuration", so the
# system's own Postfix stays unconfigured and does not listen anywhere.
TEST_PACKAGES+=(postfix)
# filtermail's adversarial suite encrypts its messages with real gpg.
TEST_PACKAGES+=(gnupg)
# The base components' tests check the rendered configs with the real tools:
# unbound-checkconf, and Debian's mtail running our mtail program over sample
# journal lines (systemd-analyze and apt-config come with the base system).
TEST_PACKAGES+=(unbound mtail)

# chatmaild: libcrypt for SHA512-CRYPT (build); a real Dovecot (IMAP, LMTP,
# doveadm, Lua push hook) for its integration suite (test).
BUILD_PACKAGES+=(libcrypt-dev)
TEST_PACKAGES+=(dovecot-imapd dovecot-lmtpd)
# The web and TLS component tests check the rendered nginx.conf with the real
# `nginx -t` (with its stream module), make certificates with openssl and
# check unit files with `systemd-analyze verify`.
TEST_PACKAGES+=(nginx libnginx-mod-stream openssl systemd)
# The mail components' tests check the rendered configs with the real
# daemons (doveconf, opendkim -n, postfix check, systemd-analyze verify) and
# run the OpenDKIM policy scripts in the Lua version opendkim links.
TEST_PACKAGES+=(dovecot-imapd dovecot-lmtpd opendkim opendkim-tools dns-root-data lua5.3 systemd)

wanted=("${BUILD_PACKAGES[@]}")
[ "${1:-}" = "--test-deps" ] && wanted+=("${TEST_PACKAGES[@]}")

missing=()
for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "initenv: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        # Other apt users may hold the lock: wait for it rather than fail.
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "initenv: these system packages are missing: ${missing[*]}" >&2
        if command -v apt-get >/dev/null; then
            echo "initenv: install them with:  sudo apt-get install ${missing[*]}" >&2
        else
            echo "initenv: this is not a Debian/Ubuntu system; install the equivalents of: ${missing[*]}" >&2
        fi
        exit 1
    fi
fi

if ! command -v swift >/dev/null; then
    echo "initenv: no 'swift' on PATH; install Swift 6 from swift.org and retry" >&2
    exit 1
fi

[ "${1:-}" = "--deps" ] || [ "${1:-}" = "--test-deps" ] && exit 0

echo "initenv: building the release folder (scripts/release)"
folder=$(scripts/release)
echo "initenv: done: $folder holds cmdeploy and chatmaild; run scripts/cmdeploy --help"
