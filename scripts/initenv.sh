#!/usr/bin/env bash
# Prepare this machine to build and run cmdeploy and chatmaild:
# install the system packages the build needs (Debian/Ubuntu, as root),
# then build release binaries into .build/release.
#
#   scripts/initenv.sh            packages + release build
#   scripts/initenv.sh --deps     packages only
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and test dependencies. Later parts of the project add to this list.
BUILD_PACKAGES=(pkg-config libssh2-1-dev libssl-dev)
# chatmaild: libcrypt for SHA512-CRYPT; a real Dovecot (IMAP, LMTP, doveadm,
# Lua push hook) for its integration suite.
BUILD_PACKAGES+=(libcrypt-dev dovecot-imapd dovecot-lmtpd)

missing=()
for p in "${BUILD_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "initenv: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
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

[ "${1:-}" = "--deps" ] && exit 0

echo "initenv: building release binaries (swift build -c release)"
scripts/stamp-revision
swift build -c release --static-swift-stdlib
echo "initenv: done; run scripts/cmdeploy --help"
