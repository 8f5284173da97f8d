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

# What the cache is made from; `build` is skipped while this is unchanged.
cache_key() {
    { echo "format $LAB_BUILD_FORMAT $LAB_SUITE $LAB_MIRROR $LAB_SECURITY_MIRROR"
      echo "base $LAB_BASE_PKGS"; lab_packages | sort -u; } | sha256sum | cut -d' ' -f1
}
cache_current() { [ -d "$BASE" ] && [ -d "$REPO" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(cache_key)" ]; }

build_unmount() { local m=$LAB_DIR/lab-base.new/proc; ! mountpoint -q "$m" || umount "$m"; }

# A Delta Chat client for lab tests: the official RPC server (a static
# binary in a wheel) and its Python client, in a venv from PyPI.
client_build() {
    local want="$LAB_DELTACHAT_VERSION" venv=$CLIENT
    [ "$(cat "$venv/.lab-stamp" 2> /dev/null)" != "$want" ] || return 0
    log "Delta Chat client $want -> $venv"
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv" \
        && "$venv/bin/pip" install -q "deltachat-rpc-server==$want" "deltachat-rpc-client==$want" >> "$LAB_DIR/lab-build.log" 2>&1 \
        || die "cannot install the Delta Chat client $want from PyPI, see $LAB_DIR/lab-build.log"
    echo "$want" > "$venv/.lab-stamp"
}

cmd_build() {
    [ -r "$LAB_PACKAGES_FILE" ] || die "package list $LAB_PACKAGES_FILE not readable"
    mkdir -p "$LAB_DIR"
    take_lock "$LAB_DIR/.lab-build.lock" 1800 "lab build"
    client_build
    if [ "${1:-}" != --force ] && cache_current; then
        log "cache is current ($BASE, $REPO); 'build --force' rebuilds it"; return 0
    fi
    lab_is_up && die "the lab is up; run 'scripts/lab down' first"
    local kept; kept=$(compgen -G "$LAB_DIR/*.ovl" | xargs) \
        && die "kept host roots ($kept) sit on the current base; run 'scripts/lab up' and 'down' (without --keep) first"
    mkdir -p "$LAB_DIR"
    make_keys
    local new=$LAB_DIR/lab-base.new rnew=$LAB_DIR/lab-repo.new blog=$LAB_DIR/lab-build.log t0=$SECONDS p
    build_unmount; rm -rf --one-file-system "$new" "$rnew"
    trap build_unmount EXIT
    : > "$blog"

    log "debootstrap $LAB_SUITE (log: $blog)"
    # In two stages, so that dpkg can skip its fsync calls while it installs
    # the base (force-unsafe-io; a crash mid-build just means rebuilding).
    debootstrap --foreign --variant=minbase --include="$LAB_BASE_PKGS" "$LAB_SUITE" "$new" "$LAB_MIRROR" >> "$blog" 2>&1 \
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
        "$LAB_MIRROR" "$LAB_SUITE" "$LAB_MIRROR" "$LAB_SUITE" "$LAB_SECURITY_MIRROR" "$LAB_SUITE" \
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
            -o APT::FTPArchive::Release::Suite=lab release . > ../lab-repo.Release && mv ../lab-repo.Release Release) \
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
    cache_key > "$STAMP"
    trap - EXIT
    log "build done in $((SECONDS - t0))s: base $(du -sh "$BASE" | cut -f1), repo $(du -sh "$REPO" | cut -f1)"
}

cmd_clean() {
    lab_is_up && die "the lab is up; run 'scripts/lab down' first"
    rm -rf --one-file-system "$BASE" "$REPO" "$KEYS" "$STAMP" "$CLIENT" "$LAB_DIR/lab-base.new" \
        "$LAB_DIR/lab-repo.new" "$LAB_DIR/lab-build.log"
    log "cache removed"
}
