import ChatmailConfig
import NIOCore

/// chatmail-metadata: the IMAP METADATA backend (Dovecot's
/// mail_attribute_dict). Stores device tokens, triggers push on
/// `/private/messagenew` and serves the relay's shared entries.
public final class MetadataService: DictService, @unchecked Sendable {
    let config: ChatmailConfig
    let tokens: TokenStore
    let notifier: Notifier
    let turn: TurnClient
    let appVersions: String?

    static let serverPrefix = "vendor/vendor.dovecot/pvt/server/vendor/deltachat/"

    init(config: ChatmailConfig, tokens: TokenStore, notifier: Notifier, turn: TurnClient, appVersionsPath: String) {
        self.config = config
        self.tokens = tokens
        self.notifier = notifier
        self.turn = turn
        self.appVersions = Self.loadAppVersions(appVersionsPath)
    }

    /// The bundled appversions.json, re-serialized on one line.
    static func loadAppVersions(_ path: String) -> String? {
        guard let text = Files.readString(path) else { return nil }
        guard let json = JSON.parse(text) else {
            Log.warning("ignoring unparsable \(path)")
            return nil
        }
        return json.serialized(compact: true)
    }

    /// The metadata entry a dict key names, split into scope and name:
    /// `priv/<guid>/devicetoken` → ("priv", "devicetoken").
    static func entry(_ key: String) -> (scope: Substring, name: Substring)? {
        let parts = key.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        return (parts[0], parts[2])
    }

    public func lookup(key: String, user: String?) -> DictLookupResult {
        guard let (scope, name) = Self.entry(key) else { return ignored(key) }
        if scope == "priv", name == "devicetoken" {
            guard let addr = user else { return .notFound }
            return .found(tokens.tokens(addr).joined(separator: " "))
        }
        if scope == "shared", name.hasPrefix(Self.serverPrefix) {
            switch name.dropFirst(Self.serverPrefix.count) {
            case "irohrelay":
                if !config.irohRelay.isEmpty { return .found(config.irohRelay) }
            case "maxsmtprecipients":
                return .found("1000")
            case "appversions":
                return appVersions.map { .found($0) } ?? .notFound
            default: break
            }
        }
        return ignored(key)
    }

    private func ignored(_ key: String) -> DictLookupResult {
        Log.warning("lookup ignored: \(key.debugDescription)")
        return .notFound
    }

    public func asyncLookup(key: String, user: String?) -> AsyncLookup? {
        guard let (scope, name) = Self.entry(key), scope == "shared",
              name == Self.serverPrefix + "turn" else { return nil }
        let turn = self.turn
        let prefix = "\(config.mailDomain):3478:"
        return AsyncLookup { done in
            turn.credentials().whenComplete { result in
                switch result {
                case .success(let creds): done(.found(prefix + creds))
                case .failure(let error):
                    Log.warning("failed to get TURN credentials: \(error)")
                    done(.notFound)
                }
            }
        }
    }

    public func set(user: String?, key: String, value: String) -> Bool {
        guard let addr = user, let (scope, name) = Self.entry(key), scope == "priv" else { return false }
        switch name {
        case "devicetoken":
            return tokens.add(addr, token: value)
        case "messagenew":
            notifier.newMessage(for: addr)
            return true
        default:
            return false
        }
    }
}
