# Sourced by scripts that need a real sshd on loopback (bench-ssh, test-ssh-cli).
#
#   start_throwaway_sshd DIR
#
# Generates host and client keys in DIR, starts /usr/sbin/sshd on a free
# 127.0.0.1 port as a child of the calling shell, and writes DIR/ssh_config
# with the alias "relay" (HostName, Port, User, IdentityFile, known_hosts in
# DIR). Sets: sshd_port, sshd_pid. stop_throwaway_sshd kills it again.

start_throwaway_sshd() {
    local dir="$1"
    ssh-keygen -q -t ed25519 -N '' -f "$dir/host_ed25519"
    ssh-keygen -q -t ed25519 -N '' -f "$dir/client_ed25519" -C throwaway-client
    cp "$dir/client_ed25519.pub" "$dir/authorized_keys"
    mkdir -p /run/sshd
    sshd_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # The settings shared with Tests/RemoteTests/SSHDFixture.swift follow.
    { cat <<CFG
Port $sshd_port
HostKey $dir/host_ed25519
AuthorizedKeysFile $dir/authorized_keys
Subsystem sftp internal-sftp
CFG
      cat "${BASH_SOURCE[0]%/*}/throwaway-sshd_config"; } >"$dir/sshd_config"
    /usr/sbin/sshd -D -e -f "$dir/sshd_config" 2>"$dir/sshd.log" &
    sshd_pid=$!
    local i
    for i in $(seq 100); do
        (echo >"/dev/tcp/127.0.0.1/$sshd_port") 2>/dev/null && break
        sleep 0.05
    done
    echo "[127.0.0.1]:$sshd_port $(cut -d' ' -f1,2 "$dir/host_ed25519.pub")" >"$dir/known_hosts"
    cat >"$dir/ssh_config" <<CFG
Host relay
    HostName 127.0.0.1
    Port $sshd_port
    User $(id -un)
    IdentityFile $dir/client_ed25519
    IdentitiesOnly yes
    UserKnownHostsFile $dir/known_hosts
    StrictHostKeyChecking yes
CFG
}

stop_throwaway_sshd() {
    if [ -n "${sshd_pid:-}" ]; then
        kill "$sshd_pid" 2>/dev/null
        wait "$sshd_pid" 2>/dev/null
        sshd_pid=
    fi
}
