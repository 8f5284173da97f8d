# deps, build, clean: the host tools and the cache every lab starts from.
# shellcheck shell=bash

# Host tools. pebble, nsd and dnsutils ship services or nothing to start;
# Debian's policy-rc.d on CI machines keeps the nsd package from starting.
LAB_HOST_TOOLS=(debootstrap systemd-container apt-utils nsd pebble openssl openssh-client
    iproute2 procps util-linux dnsutils curl python3 python3-venv zstd)

cmd_deps() {
    local missing=() p
    for p in "${LAB_HOST_TOOLS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    log "installing host tools: ${missing[*]}"
    local apt=(apt-get -o DPkg::Lock::Timeout=600 -y -q)
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${missing[@]}" > /dev/null \
        || { "${apt[@]}" update > /dev/null && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${missing[@]}" > /dev/null; } \
        || die "could not install ${missing[*]}"
}

make_keys() {
    mkdir -p "$KEYS"; chmod 700 "$KEYS"
    [ -f "$KEYS/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C chatlab -f "$KEYS/id_ed25519"
    # The lab CA signs the TLS certificates of the lab services; every host
    # trusts it (baked into the base) and lab clients get it in their bundle.
    [ -f "$KEYS/ca.crt" ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -days 3650 -subj "/CN=chatlab test CA" -addext basicConstraints=critical,CA:TRUE \
        -keyout "$KEYS/ca.key" -out "$KEYS/ca.crt" 2> /dev/null
}

cache_current() { [ -d "$BASE" ] && [ -d "$REPO" ]; }
# every suite of the lab has its cache
caches_current() {
    local s
    for s in $(lab_suites); do suite_cache "$s"; cache_current || return 1; done
}

build_unmount() { local m=$BASE.new/proc; ! mountpoint -q "$m" || umount "$m"; }

# A Delta Chat client for lab tests, in a venv from PyPI: the official RPC
# server (a static binary in a wheel), its Python client (with the pytest
# plugin of core's online test suite) and that suite, all of one version
# (LAB_DELTACHAT_VERSION). The suite's tests/ come from the client's sdist,
# unpacked into $CLIENT/core-tests/tests (Tests/lab/core-suite/run adds what
# the sdist lacks); its test dependencies go into the venv. The stamp names
# LAB_CLIENT_FORMAT and the version.
client_build() {
    local v=$LAB_DELTACHAT_VERSION venv=$CLIENT blog=$LAB_DIR/lab-build.log
    local want="format $LAB_CLIENT_FORMAT deltachat $v"
    [ "$(cat "$venv/.lab-stamp" 2> /dev/null)" != "$want" ] || return 0
    # Labs of every LAB_NS share the venv: never replace it under a running client.
    local users waited=
    while users=$(pgrep -f -a -- "$venv/") && [ -n "$users" ]; do
        [ -n "$waited" ] || log "waiting for the Delta Chat client in $venv to be unused; in use by:"$'\n'"$(cut -c1-150 <<< "$users")"
        waited=$((${waited:-0} + 10))
        [ "$waited" -le 1800 ] || die "the Delta Chat client in $venv is still in use after 30 min"
        sleep 10
    done
    log "Delta Chat client and core test suite $v -> $venv"
    rm -rf "$venv"
    local sdist=$venv/sdist tests=$venv/core-tests
    /usr/bin/python3 -m venv "$venv" \
        && "$venv/bin/pip" install -q "deltachat-rpc-server==$v" "deltachat-rpc-client==$v" \
            imap-tools pytest pytest-timeout pytest-xdist pillow >> "$blog" 2>&1 \
        && "$venv/bin/pip" download -q --no-binary :all: --no-deps -d "$sdist" "deltachat-rpc-client==$v" >> "$blog" 2>&1 \
        || die "cannot install the Delta Chat client $v and its test suite from PyPI, see $blog"
    mkdir -p "$tests"
    tar -xzf "$sdist"/*.tar.gz -C "$tests" --strip-components=1 --wildcards '*/tests/*' \
        && ls "$tests"/tests/test_*.py > /dev/null 2>&1 \
        || die "the deltachat-rpc-client $v sdist ($(ls "$sdist")) has no tests/"
    rm -rf "$sdist"
    "$venv/bin/pip" freeze > "$tests/pip-freeze.txt"   # what the suite runs with
    echo "$want" > "$venv/.lab-stamp"
}

cmd_build() {
    local force= force_dovecot= a
    for a in "$@"; do
        case $a in
            --force) force=1 ;;
            --force-dovecot) force_dovecot=1 ;;
            *) die "usage: scripts/lab build [--force] [--force-dovecot]" ;;
        esac
    done
    [ -r "$LAB_PACKAGES_FILE" ] || die "package list $LAB_PACKAGES_FILE not readable"
    check_host_suites
    mkdir -p "$LAB_DIR"
    take_lock "$LAB_DIR/.lab-build.lock" 1800 "lab build"
    client_build
    # Dovecot 2.3's source comes from LAB_DOVECOT_SOURCE_SUITE's repo: built
    # first, also for a lab whose hosts all run another suite.
    local suite suites version
    suites=$(lab_suites)
    for suite in $suites; do
        cache_paths "$(cache_key "$suite")"     # never a running lab's old cache
        if [ -z "$force" ] && cache_current; then
            log "$suite cache is current ($BASE, $REPO); 'build --force' rebuilds it"
        else
            base_build "$suite"
        fi
    done
    cache_paths "$(cache_key "$LAB_DOVECOT_SOURCE_SUITE")"
    version=$(repo_dovecot_version "$REPO")
    [ -n "$version" ] || die "the offline repo $REPO carries no dovecot-core"
    # The Dovecot builds take many minutes and need nothing of the base:
    # let other labs' builds have the lock meanwhile.
    close_locks
    for suite in $suites; do dovecot_build "$version" "$suite" "$force_dovecot"; done
}

base_build() {   # base_build SUITE: base and repo into BASE and REPO
    local suite=$1 users; users=$(cache_users "$BASE" "$REPO")
    [ -z "$users" ] || die "not rebuilding $BASE: a running lab uses it (run 'down' there first):"$'\n'"$users"
    if [ -d "$BASE" ] && grep -qs "lowerdir=$BASE," "$LAB_DIR"/*.ovl/lowerdir; then
        die "host roots kept with 'down --keep' sit on $BASE; run 'up' and 'down' (without --keep) first"
    fi
    make_keys
    local new=$BASE.new rnew=$REPO.new blog=$LAB_DIR/lab-build.log t0=$SECONDS p
    build_unmount; rm -rf --one-file-system "$new" "$rnew"
    trap build_unmount EXIT
    echo "== $(date -u +%FT%TZ) base and repo of $suite" >> "$blog"

    log "debootstrap $suite (log: $blog)"
    # In two stages, so that dpkg can skip its fsync calls while it installs
    # the base (force-unsafe-io; a crash mid-build just means rebuilding).
    debootstrap --foreign --variant=minbase --include="$LAB_BASE_PKGS" "$suite" "$new" "$LAB_MIRROR" >> "$blog" 2>&1 \
        || die "debootstrap (download) failed, see $blog"
    mkdir -p "$new/etc/dpkg/dpkg.cfg.d"; echo force-unsafe-io > "$new/etc/dpkg/dpkg.cfg.d/lab-unsafe-io"
    chroot "$new" /debootstrap/debootstrap --second-stage >> "$blog" 2>&1 \
        || die "debootstrap (install) failed, see $blog"
    log "debootstrap done ($((SECONDS - t0))s)"

    # The build chroot shares the host network and talks only to the Debian
    # mirror; policy-rc.d keeps maintainer scripts from starting daemons here.
    printf '#!/bin/sh\nexit 101\n' > "$new/usr/sbin/policy-rc.d"; chmod 755 "$new/usr/sbin/policy-rc.d"
    cp -L /etc/resolv.conf "$new/etc/resolv.conf"
    printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
        "$LAB_MIRROR" "$suite" "$LAB_MIRROR" "$suite" "$LAB_SECURITY_MIRROR" "$suite" \
        > "$new/etc/apt/sources.list"
    mount -t proc proc "$new/proc"
    local ch=(chroot "$new" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 apt-get -y -q)
    "${ch[@]}" update >> "$blog" 2>&1 || die "apt-get update failed, see $blog"
    "${ch[@]}" upgrade >> "$blog" 2>&1 || die "apt-get upgrade failed, see $blog"
    log "base upgraded ($((SECONDS - t0))s); downloading the closure of $(lab_packages | wc -l) packages"

    # apt resolves alternatives differently for one package than for a set,
    # and with or without recommends (e.g. `cron` alone pulls exim4 through
    # default-mta): download every variant a deploy might ask for.
    local pkgs; mapfile -t pkgs < <(lab_packages)
    "${ch[@]}" install --download-only "${pkgs[@]}" >> "$blog" 2>&1 || die "cannot download the package set, see $blog"
    "${ch[@]}" install --download-only --no-install-recommends "${pkgs[@]}" >> "$blog" 2>&1 || die "see $blog"
    for p in "${pkgs[@]}"; do
        "${ch[@]}" install --download-only "$p" >> "$blog" 2>&1 \
            && "${ch[@]}" install --download-only --no-install-recommends "$p" >> "$blog" 2>&1 \
            || die "cannot download package '$p' (listed in $LAB_PACKAGES_FILE), see $blog"
    done
    mkdir -p "$rnew"; cp "$new"/var/cache/apt/archives/*.deb "$rnew"/
    log "indexing $(find "$rnew" -name '*.deb' | wc -l) debs ($((SECONDS - t0))s)"
    (cd "$rnew" && apt-ftparchive packages . > Packages 2>> "$blog" && gzip -9nc Packages > Packages.gz \
        && apt-ftparchive -o APT::FTPArchive::Release::Origin=chatlab -o APT::FTPArchive::Release::Label=chatlab \
            -o APT::FTPArchive::Release::Suite=lab release . > "$LAB_DIR/.Release.new" && mv "$LAB_DIR/.Release.new" Release) \
        || die "indexing the repo failed, see $blog"

    # Finalize: offline apt source, lab CA trusted, lab key authorized; host
    # keys and machine-id are made per host at `up`.
    "${ch[@]}" clean
    rm -rf "$new"/var/lib/apt/lists/*; mkdir -p "$new/var/lib/apt/lists/partial"
    install -m 644 "$KEYS/ca.crt" "$new/usr/local/share/ca-certificates/chatlab-ca.crt"
    chroot "$new" update-ca-certificates > /dev/null 2>&1
    umount "$new/proc"
    rm -f "$new/usr/sbin/policy-rc.d" "$new/etc/dpkg/dpkg.cfg.d/lab-unsafe-io"
    echo "deb [trusted=yes] file:/srv/lab-repo ./" > "$new/etc/apt/sources.list"
    echo "nameserver $GW" > "$new/etc/resolv.conf"
    install -d -m 700 "$new/root/.ssh"
    install -m 600 "$KEYS/id_ed25519.pub" "$new/root/.ssh/authorized_keys"
    rm -f "$new"/etc/ssh/ssh_host_*
    : > "$new/etc/machine-id"
    echo lab > "$new/etc/hostname"
    echo LANG=C.UTF-8 > "$new/etc/default/locale"    # as on Debian's cloud images

    rm -rf --one-file-system "$BASE" "$REPO"
    mv "$new" "$BASE"; mv "$rnew" "$REPO"
    trap - EXIT
    log "build done in $((SECONDS - t0))s: base $(du -sh "$BASE" | cut -f1), repo $(du -sh "$REPO" | cut -f1)"
}

# ---- the patched Dovecot --------------------------------------------------
# Relays install Dovecot from .deb files pinned by URL and sha256 (the ini key
# dovecot_debs); a real host downloads upstream's builds, which drop Dovecot's
# 500 ms debounce of IMAP IDLE notifications. The lab cannot download them, so
# it builds the equivalent from Debian's own source: the version the offline
# repo carries (its .debs then need nothing the repo lacks), that one constant
# set to 0, and a local version suffix. The build runs in a throw-away chroot
# (nothing is installed on this machine) and is cached per version, so only
# the first `build` of a machine pays for it.
DOVECOT_PKGS=(dovecot-core dovecot-imapd dovecot-lmtpd)   # what a relay installs; the rest is discarded
DOVECOT_WATCH=src/lib-storage/mailbox-watch.c

dovecot_current() { [ -s "$1/SHA256SUMS" ]; }

# dovecot_build_cleanup ROOT: the build chroot goes, whatever happened
dovecot_build_cleanup() {
    [ -e "$1" ] || return 0
    ! mountpoint -q "$1/proc" || umount "$1/proc" || umount -l "$1/proc"
    rm -rf --one-file-system "$1"
}

# dovecot_source ROOT WANT LOG: `apt-get source` Debian's dovecot WANT into
# ROOT/build and print the version fetched. When the archive does not serve
# WANT's source (it keeps only the newest upload of a suite, and some mirrors
# lack the security archive's sources: this machine's answers 404), the
# newest older revision of the same upstream release is taken instead, with
# the same Build-Depends and so the same dependencies; the log says so.
dovecot_source() {
    local root=$1 want=$2 blog=$3 v u upstream cands
    upstream=${want#*:}; upstream=${upstream%-*}
    cands=$(chroot "$root" apt-cache showsrc dovecot 2> /dev/null | awk '/^Version: / { print $2 }' | sort -u |
        while read -r v; do
            u=${v#*:}; u=${u%-*}
            [ "$u" = "$upstream" ] && dpkg --compare-versions "$v" lt "$want" && echo "$v"
        done | sort -rV)
    for v in "$want" $cands; do
        rm -rf "$root/build"; mkdir -p "$root/build"
        if chroot "$root" sh -c 'cd /build && apt-get -q source --only-source "dovecot=$1"' sh "$v" >> "$blog" 2>&1; then
            echo "$v"; return 0
        fi
        log "the archive does not serve the source of dovecot $v"
    done
    return 1
}

# dovecot_build VERSION SUITE FORCE: the patched dovecot-core, -imapd,
# -lmtpd of Dovecot VERSION (LAB_DOVECOT_SOURCE_SUITE's), built on SUITE,
# into dovecot_cache_of VERSION SUITE, unless it is there already (or FORCE
# is non-empty). On another suite than the source's (Debian 13 has no
# Dovecot 2.3) it is the same source rebuilt against that suite's
# libraries, versioned +debNu1 above the source suite's build as upstream's
# builds per release are. Built into CACHE.new, then renamed: a failed or
# interrupted build leaves no half cache.
dovecot_build() {
    local version=$1 suite=$2 force=$3 cache
    cache=$(dovecot_cache_of "$version" "$suite")
    if [ -z "$force" ] && dovecot_current "$cache"; then
        log "patched Dovecot for $suite is current ($cache); 'build --force-dovecot' rebuilds it"; return 0
    fi
    # once per process: a second build of this `build` (the next suite)
    # would otherwise wait for the lock it holds itself
    if [ -z "${DOVECOT_LOCK_HELD:-}" ]; then
        take_lock "$LAB_DIR/.lab-dovecot-build.lock" 7200 "Dovecot build"; DOVECOT_LOCK_HELD=1
    fi
    if [ -z "$force" ] && dovecot_current "$cache"; then log "patched Dovecot built meanwhile: $cache"; return 0; fi

    local root=$LAB_DIR/lab-dovecot-build new=$cache.new blog=$LAB_DIR/lab-dovecot-build-$suite.log t0=$SECONDS
    local arch; arch=$(dpkg --print-architecture)
    dovecot_build_cleanup "$root"; rm -rf "$new"
    trap "dovecot_build_cleanup $(printf %q "$root"); rm -rf $(printf %q "$new")" EXIT   # (locals are gone by then)
    trap 'exit 130' INT TERM HUP
    : > "$blog"
    log "Dovecot $version without the IDLE notification delay, for $suite: build chroot (log: $blog)"
    debootstrap --foreign --variant=minbase "$suite" "$root" "$LAB_MIRROR" >> "$blog" 2>&1 \
        || die "debootstrap (download) failed, see $blog"
    mkdir -p "$root/etc/dpkg/dpkg.cfg.d"; echo force-unsafe-io > "$root/etc/dpkg/dpkg.cfg.d/lab-unsafe-io"
    chroot "$root" /debootstrap/debootstrap --second-stage >> "$blog" 2>&1 || die "debootstrap (install) failed, see $blog"
    printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod 755 "$root/usr/sbin/policy-rc.d"
    cp -L /etc/resolv.conf "$root/etc/resolv.conf"
    # binaries (build dependencies) of SUITE, the source from the source suite
    local t s src_suite=$LAB_DOVECOT_SOURCE_SUITE
    for t in "deb $suite" "deb-src $src_suite"; do
        for s in "$LAB_MIRROR ${t#* }" "$LAB_MIRROR ${t#* }-updates" "$LAB_SECURITY_MIRROR ${t#* }-security"; do
            echo "${t%% *} $s main"
        done
    done > "$root/etc/apt/sources.list"
    mount -t proc proc "$root/proc"
    local ch=(chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8)
    local apt=("${ch[@]}" apt-get -y -q --no-install-recommends)
    "${apt[@]}" update >> "$blog" 2>&1 || die "apt-get update failed, see $blog"
    "${apt[@]}" install build-essential dpkg-dev >> "$blog" 2>&1 || die "cannot install build-essential, see $blog"
    log "build chroot ready ($((SECONDS - t0))s); apt-get source dovecot=$version"

    local src; src=$(dovecot_source "$root" "$version" "$blog") || die "cannot fetch Debian's dovecot source, see $blog"
    [ "$src" = "$version" ] || log "building from dovecot $src instead (same upstream release and Build-Depends), as version $version+$LAB_DOVECOT_REV"
    local dir; dir=$(cd "$root/build" && echo dovecot-*/)
    dir=/build/${dir%/}
    [ -f "$root$dir/debian/changelog" ] || die "no unpacked dovecot source in $root/build, see $blog"
    "${apt[@]}" build-dep "$dir" >> "$blog" 2>&1 || die "cannot install dovecot's build dependencies, see $blog"
    log "source and build dependencies in place ($((SECONDS - t0))s)"

    # The change: the one constant, checked before and after.
    local f=$root$dir/$DOVECOT_WATCH
    [ "$(grep -c '^#define NOTIFY_DELAY_MSECS 500$' "$f" 2> /dev/null)" = 1 ] \
        || die "'#define NOTIFY_DELAY_MSECS 500' not found (once) in $DOVECOT_WATCH of dovecot $src; the lab's change no longer applies"
    cp -p "$f" "$f.orig"
    sed -i 's/^#define NOTIFY_DELAY_MSECS 500$/#define NOTIFY_DELAY_MSECS 0/' "$f"
    local change; change=$(cd "$root$dir" && diff -u --label "a/$DOVECOT_WATCH" --label "b/$DOVECOT_WATCH" "$DOVECOT_WATCH.orig" "$DOVECOT_WATCH" || true)
    rm "$f.orig"
    [ "$(grep -c '^#define NOTIFY_DELAY_MSECS 0$' "$f")" = 1 ] && [ "$(grep -c NOTIFY_DELAY_MSECS "$f")" = 2 ] \
        || die "the edit of $DOVECOT_WATCH went wrong"
    printf 'the change:\n%s\n' "$change" >> "$blog"
    log "patched: $(grep -n '^#define NOTIFY_DELAY_MSECS' "$f" | sed "s|^|$DOVECOT_WATCH:|")"

    # A local version above the repo's Debian build, as upstream's builds
    # sort above Debian's: apt must never see the repo's Dovecot as an
    # upgrade (`apt-get --fix-broken install` would otherwise swap it in).
    # It is the repo's version plus the suffix also when the source is an
    # older revision; the changelog entry says which source it is. The
    # entry keeps the previous one's date: it sets SOURCE_DATE_EPOCH.
    local built=$version+$LAB_DOVECOT_REV date cl=$root$dir/debian/changelog release
    release=$(. "$root/etc/os-release" && echo "$VERSION_ID")
    [ "$suite" = "$src_suite" ] || built=$built+deb${release}u1
    date=$(chroot "$root" sh -c 'cd "$1" && dpkg-parsechangelog -S Date' sh "$dir") || die "cannot read $cl"
    { printf 'dovecot (%s) UNRELEASED; urgency=medium\n\n' "$built"
      printf '  * chatmail lab build: NOTIFY_DELAY_MSECS 0 in %s, no 500 ms\n' "$DOVECOT_WATCH"
      printf '    debounce of IMAP IDLE notifications. Debian source %s.\n' "$src"
      [ "$suite" = "$src_suite" ] || printf '  * Rebuilt for Debian %s (%s).\n' "$release" "$suite"
      printf '  * Built without link-time optimization.\n'
      [ "$src" = "$version" ] || printf '  * The archive does not serve the source of %s: built from\n    %s, versioned above %s.\n' \
          "$version" "$src" "$version"
      printf '\n -- chatmail lab <root@localhost>  %s\n\n' "$date"
      cat "$cl"; } > "$cl.new" && mv "$cl.new" "$cl"
    [ "$(chroot "$root" sh -c 'cd "$1" && dpkg-parsechangelog -S Version' sh "$dir")" = "$built" ] \
        || die "the changelog entry for $built did not take"

    # Without link-time optimization: the same code, built in 6 instead of
    # 22 minutes on 2 cores (LTO links every module twice). On a newer
    # release, GCC 14's new hard errors for old C idioms back to warnings
    # (2.3 predates GCC 14).
    sed -i 's/optimize=+lto/optimize=-lto/' "$root$dir/debian/rules"
    local flags=()
    [ "$suite" = "$src_suite" ] \
        || flags=(DEB_CFLAGS_APPEND='-Wno-error=incompatible-pointer-types -Wno-error=implicit-function-declaration -Wno-error=int-conversion')
    log "dpkg-buildpackage of dovecot $built on $suite (DEB_BUILD_OPTIONS='nocheck parallel=2', no LTO; about 6 min on 2 cores)"
    local tb=$SECONDS
    "${ch[@]}" "${flags[@]}" DEB_BUILD_OPTIONS='nocheck parallel=2' sh -c 'cd "$1" && dpkg-buildpackage -B -uc -us' sh "$dir" >> "$blog" 2>&1 \
        || die "dpkg-buildpackage failed, see $blog"
    log "dpkg-buildpackage done in $((SECONDS - tb))s"

    mkdir -p "$new"
    local p deb
    for p in "${DOVECOT_PKGS[@]}"; do
        deb=$root/build/${p}_${built#*:}_$arch.deb
        [ -f "$deb" ] && [ "$(dpkg-deb -f "$deb" Version)" = "$built" ] || die "no $deb after the build, see $blog"
        cp "$deb" "$new/"
    done
    (cd "$new" && sha256sum -- *.deb > SHA256SUMS)
    { echo "version $built"; echo "source dovecot $src (the offline repo has $version)"
      echo "built on $suite $(date -u +%FT%TZ) in $((SECONDS - tb))s with DEB_BUILD_OPTIONS='nocheck parallel=2' ${flags[*]}"
      echo "$change"; } > "$new/BUILD-INFO"
    rm -rf "$cache"; mv "$new" "$cache"
    dovecot_build_cleanup "$root"
    trap - EXIT
    log "patched Dovecot done in $((SECONDS - t0))s: $cache ($(du -sh "$cache" | cut -f1)): $(cd "$cache" && echo *.deb)"
}

# Labs of any LAB_NS share the cache: their host roots sit on the base,
# their hosts bind-mount the repo, their clients use the keys.
# cache_users BASE REPO: what uses this cache (labs of any LAB_NS share it)
cache_users() {
    awk -v b="lowerdir=$1," 'index($4, b) { print "mounted " $2 }' /proc/mounts
    pgrep -f -a -- "--bind-ro=$2:" | awk '{ print "host " $0 }' | cut -c1-120 || true
}

# clean: remove every cache no running lab uses; keys and client only when
# no lab runs at all.
cmd_clean() {
    lab_is_up && die "the lab is up; run 'scripts/lab down' first"
    local b r v users busy=0 keep_dovecot=()
    for b in "$LAB_DIR"/lab-base "$LAB_DIR"/lab-base-*; do
        case $b in *.new) continue ;; esac
        [ -e "$b" ] || continue
        r=${b/lab-base/lab-repo}
        users=$(cache_users "$b" "$r")
        if [ -n "$users" ]; then
            log "keeping $b, in use:"$'\n'"$users"; busy=1
            v=$(repo_dovecot_version "$r"); [ -z "$v" ] || keep_dovecot+=("$(dovecot_cache_of "$v")")
            continue
        fi
        rm -rf --one-file-system "$b" "$r" "$b.new" "$r.new"
        log "removed $b and $r"
    done
    clean_dovecot
    if [ "$busy" = 0 ]; then
        rm -rf --one-file-system "$KEYS" "$CLIENT" "$LAB_DIR/lab-build.log" "$LAB_DIR/lab-cache.stamp" \
            "$LAB_DIR"/lab-dovecot-build*.log
        log "removed the keys and the client"
    fi
}

# The patched Dovecot of every repo no running lab uses (keep_dovecot lists
# those in use; a build of the same source for another suite goes with it),
# and a build chroot a killed build left; nothing while a
# Dovecot build runs.
clean_dovecot() {
    local fd d k keep
    exec {fd}> "$LAB_DIR/.lab-dovecot-build.lock"
    if ! flock -n "$fd"; then
        exec {fd}>&-; log "a Dovecot build runs: leaving the lab-dovecot-* caches alone"; return 0
    fi
    if [ -e "$LAB_DIR/lab-dovecot-build" ]; then
        dovecot_build_cleanup "$LAB_DIR/lab-dovecot-build"; log "removed the build chroot $LAB_DIR/lab-dovecot-build"
    fi
    for d in "$LAB_DIR"/lab-dovecot-*; do
        [ -d "$d" ] || continue
        keep=
        for k in "${keep_dovecot[@]}"; do [[ $d == "$k" || $d == "$k"-* ]] && keep=1; done
        if [ -n "$keep" ]; then log "keeping $d, its repo is in use"; continue; fi
        rm -rf --one-file-system "$d"
        log "removed $d"
    done
    exec {fd}>&-
}
