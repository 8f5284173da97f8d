import Support
import CLibSSH2
#if canImport(Glibc)
import Glibc
#endif

/// Public-key login in the order an operator expects: the ssh-agent's
/// identities, then the IdentityFiles from ssh_config, then the default key
/// files. Every attempt is recorded so a failure can list what was tried.
struct SSHAuthenticator {
    let session: SSHSession
    let user: String
    let config: SSHHostConfig
    let options: SSHOptions
    let deadline: Deadline

    /// Logs in; returns what worked ("ssh-agent key ...", "key file PATH").
    func authenticate() throws -> String {
        var tried: [String] = []
        let methods = try offeredMethods()
        if methods == nil { return "no authentication (server accepted \"none\")" }
        guard methods!.contains("publickey") else {
            throw RemoteError.authenticationFailed(
                host: session.label, user: user,
                tried: ["the server offers no public-key login (only: \(methods!.joined(separator: ", ")))"])
        }
        let allowedBlobs = config.identitiesOnly ? Set(identityFiles().compactMap { publicKeyBlob(privateKeyPath: $0) }) : nil
        if let agentKey = try tryAgent(allowed: allowedBlobs, tried: &tried) { return agentKey }
        for path in identityFiles() {
            if try tryKeyFile(path, tried: &tried) { return "key file \(path)" }
        }
        throw RemoteError.authenticationFailed(host: session.label, user: user, tried: tried)
    }

    /// The key files to try: ssh_config's IdentityFiles, then the defaults
    /// (unless IdentitiesOnly restricts us to the configured ones).
    func identityFiles() -> [String] {
        var files = config.identityFiles
        if !(config.identitiesOnly && !files.isEmpty) {
            for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
                files.append(options.home + "/.ssh/" + name)
            }
        }
        var seen = Set<String>()
        return files.filter { seen.insert($0).inserted }
    }

    /// The auth methods the server offers; nil when no login is needed.
    private func offeredMethods() throws -> [String]? {
        let list = try session.retryPointer(deadline: deadline) {
            libssh2_userauth_list(session.raw, user, UInt32(user.utf8.count))
        }
        if let list { return String(cString: list).split(separator: ",").map(String.init) }
        if libssh2_userauth_authenticated(session.raw) == 1 { return nil }
        throw RemoteError.handshakeFailed(host: session.label, detail: session.lastError)
    }

    private func tryAgent(allowed: Set<[UInt8]>?, tried: inout [String]) throws -> String? {
        guard options.useAgent else { return nil }
        var socketPath = options.agentSocket
        if socketPath == nil, let env = getenv("SSH_AUTH_SOCK"), env.pointee != 0 { socketPath = String(cString: env) }
        guard let socketPath, let agent = libssh2_agent_init(session.raw) else { return nil }
        defer { libssh2_agent_disconnect(agent); libssh2_agent_free(agent) }
        libssh2_agent_set_identity_path(agent, socketPath)
        guard libssh2_agent_connect(agent) == 0 else {
            tried.append("ssh-agent at \(socketPath): cannot connect")
            return nil
        }
        guard libssh2_agent_list_identities(agent) == 0 else {
            tried.append("ssh-agent: cannot list its keys")
            return nil
        }
        var previous: UnsafeMutablePointer<libssh2_agent_publickey>? = nil
        var count = 0
        while true {
            var identity: UnsafeMutablePointer<libssh2_agent_publickey>? = nil
            let rc = libssh2_agent_get_identity(agent, &identity, previous)
            guard rc == 0, let id = identity else { break }
            previous = id
            count += 1
            let blob = Array(UnsafeBufferPointer(start: id.pointee.blob, count: Int(id.pointee.blob_len)))
            let comment = id.pointee.comment.map { String(cString: $0) } ?? ""
            let label = "ssh-agent key \(keyTypeName(blob)) \(sshFingerprint(keyBlob: blob))"
                + (comment.isEmpty ? "" : " (\(comment))")
            if let allowed, !allowed.contains(blob) {
                continue  // IdentitiesOnly: only agent keys that match an IdentityFile
            }
            let result = try session.retry(deadline: deadline) { libssh2_agent_userauth(agent, user, id) }
            if result == 0 { return label }
            try checkConnection(result)
            tried.append("\(label): \(refusal(result, rsa: keyTypeName(blob) == "ssh-rsa"))")
        }
        if count == 0 { tried.append("ssh-agent: holds no keys") }
        return nil
    }

    private func tryKeyFile(_ path: String, tried: inout [String]) throws -> Bool {
        guard let text = readTextFile(path) else {
            if config.identityFiles.contains(path) { tried.append("\(path): \(describeMissing(path))") }
            return false
        }
        var passphrase: String? = nil
        if privateKeyIsEncrypted(text) {
            passphrase = options.passphrase ?? askPassphrase(path)
            if passphrase == nil {
                tried.append("\(path): needs a passphrase (run on a terminal, or set CMDEPLOY_SSH_PASSPHRASE)")
                return false
            }
        }
        let pub = path + ".pub"
        let pubPath: String? = access(pub, R_OK) == 0 ? pub : nil
        let result = try session.retry(deadline: deadline) {
            cssh_userauth_publickey_fromfile(session.raw, user, pubPath, path, passphrase ?? "")
        }
        if result == 0 { return true }
        try checkConnection(result)
        let rsa = text.contains("BEGIN RSA PRIVATE KEY") || (pubPath.flatMap(readTextFile)?.hasPrefix("ssh-rsa") ?? false)
        // libssh2 says "Callback returned error" when it cannot sign with
        // the private key, which for an encrypted key means a wrong passphrase.
        if result == LIBSSH2_ERROR_FILE || session.lastError.contains("Callback returned error") {
            let why = passphrase == nil ? "cannot read the key (unsupported format?)" : "cannot read the key (wrong passphrase?)"
            tried.append("\(path): \(why): \(session.lastError)")
        } else {
            tried.append("\(path): \(refusal(result, rsa: rsa))")
        }
        return false
    }

    private func checkConnection(_ code: Int32) throws {
        if SSHSession.isConnectionError(code) {
            throw RemoteError.connectionLost(host: session.label, command: nil, detail: "during login: \(session.lastError)")
        }
    }

    private func refusal(_ code: Int32, rsa: Bool) -> String {
        let base = code == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED || code == LIBSSH2_ERROR_AUTHENTICATION_FAILED
            ? "refused by the server" : session.lastError
        return rsa ? base + " (RSA key: libssh2 1.10 signs only with SHA-1, which current OpenSSH servers refuse; use an ed25519 key)" : base
    }

    private func askPassphrase(_ path: String) -> String? {
        guard options.promptOnTerminal, isatty(STDIN_FILENO) == 1 else { return nil }
        guard let answer = getpass("Passphrase for \(path): ") else { return nil }
        return String(cString: answer)
    }

    private func describeMissing(_ path: String) -> String {
        access(path, F_OK) == 0 ? "cannot read: \(String(cString: strerror(errno)))" : "no such file"
    }
}

/// True when a private key file needs a passphrase: OpenSSH format with a
/// cipher other than "none", or a PEM key marked ENCRYPTED.
func privateKeyIsEncrypted(_ text: String) -> Bool {
    let begin = "-----BEGIN OPENSSH PRIVATE KEY-----"
    if let start = text.firstRange(of: begin) {
        let body = text[start.upperBound...].prefix { $0 != "-" }.filter { !$0.isWhitespace }
        guard let bytes = Base64.decode(String(body)) else { return false }
        let magic = Array("openssh-key-v1".utf8) + [0]
        guard bytes.count > magic.count + 4, Array(bytes[0..<magic.count]) == magic else { return false }
        let lengthBytes = bytes[magic.count..<magic.count + 4]
        let length = lengthBytes.reduce(0) { $0 << 8 | Int($1) }
        let nameStart = magic.count + 4
        guard bytes.count >= nameStart + length else { return false }
        return String(decoding: bytes[nameStart..<nameStart + length], as: UTF8.self) != "none"
    }
    return text.contains("ENCRYPTED")
}

/// The key blob from `<path>.pub`, for IdentitiesOnly.
func publicKeyBlob(privateKeyPath path: String) -> [UInt8]? {
    guard let text = readTextFile(path + ".pub") else { return nil }
    let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
    guard fields.count >= 2 else { return nil }
    return Base64.decode(String(fields[1]))
}


/// The algorithm name at the start of an SSH key blob ("ssh-ed25519", ...).
func keyTypeName(_ blob: [UInt8]) -> String {
    guard blob.count >= 4 else { return "?" }
    let length = blob[0..<4].reduce(0) { $0 << 8 | Int($1) }
    guard blob.count >= 4 + length else { return "?" }
    return String(decoding: blob[4..<4 + length], as: UTF8.self)
}
