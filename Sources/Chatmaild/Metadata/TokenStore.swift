/// Device tokens per address in `<mailbox>/metadata.json`, the Python
/// relay's format: `{"devicetoken": {"<token>": <unix-ts>, ...}}`.
/// A token is valid for 90 days after its last SETMETADATA.
struct TokenStore: Sendable {
    let mailboxes: Mailboxes
    static let validity = 90.0 * 86400
    static let futureSlack = 60.0

    static func isValid(_ ts: Double, now: Double) -> Bool {
        now - validity < ts && ts < now + futureSlack
    }

    func file(_ addr: String) -> String? { mailboxes.path(addr).map { $0 + "/metadata.json" } }

    /// Valid tokens, oldest first; rewrites the file if some expired.
    func tokens(_ addr: String) -> [String] {
        guard let path = file(addr) else { return [] }
        let t = now()
        let all = read(path, now: t)
        let valid = all.filter { Self.isValid($0.1, now: t) }
        if valid.count != all.count {
            _ = modify(addr) { _ in }
        }
        return valid.map(\.0)
    }

    func add(_ addr: String, token: String) -> Bool {
        modify(addr) { tokens in
            let t = now()
            if let i = tokens.firstIndex(where: { $0.0 == token }) { tokens[i].1 = t } else { tokens.append((token, t)) }
        }
    }

    func remove(_ addr: String, token: String) {
        _ = modify(addr) { tokens in tokens.removeAll { $0.0 == token } }
    }

    /// Read-modify-write under `metadata.json.lock`, dropping expired tokens.
    private func modify(_ addr: String, _ change: (inout [(String, Double)]) -> Void) -> Bool {
        guard let path = file(addr), Files.isDirectory(mailboxes.path(addr)!),
              let lock = FileLock(path: path + ".lock") else { return false }
        defer { withExtendedLifetime(lock) {} }
        let t = now()
        var tokens = read(path, now: t).filter { Self.isValid($0.1, now: t) }
        change(&tokens)
        let json = JSON.object([("devicetoken", .object(tokens.map { ($0.0, JSON.number($0.1)) }))])
        return Files.writeAtomically(path, Array(json.serialized().utf8))
    }

    private func read(_ path: String, now t: Double) -> [(String, Double)] {
        guard let bytes = Files.read(path) else { return [] }
        guard let json = JSON.parse(String(decoding: bytes, as: UTF8.self)), case .object = json else {
            Log.warning("corrupt serialization state at: \(path)")
            return []
        }
        switch json["devicetoken"] {
        case .object(let pairs)?:
            return pairs.compactMap { key, value in
                if case .number(let ts) = value { return (key, ts) }
                return nil
            }
        case .array(let items)?:  // legacy: a plain list of tokens
            return items.compactMap { if case .string(let s) = $0 { return (s, t) }; return nil }
        default:
            return []
        }
    }
}
