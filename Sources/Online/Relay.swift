import ChatmailConfig
import Foundation
import MailClient

/// A relay as the online tests see it: its mail domain, where to connect,
/// which certificates to trust, and the limits account names must obey.
public struct RelayEndpoint: Sendable {
    /// The mail domain as in addresses (`[1.2.3.4]` for an IPv4 relay).
    public var mailDomain: String
    /// Host name or address to connect to (the domain without brackets).
    public var host: String
    public var trust: TLSTrust
    public var usernameMinLength: Int
    public var usernameMaxLength: Int
    public var passwordMinLength: Int
    public var isIPv4: Bool
    /// Every address the tests made credentials for (or got from /new), so
    /// the run can remove the accounts again (`AccountCleanup`). Shared by
    /// copies of this endpoint.
    public let created = CreatedAccounts()

    public init(mailDomain: String, host: String? = nil, caFile: String?, usernameMinLength: Int = 9,
                usernameMaxLength: Int = 9, passwordMinLength: Int = 9) {
        let bare = mailDomain.strippingCharacters("[]")
        self.mailDomain = mailDomain
        self.host = host ?? bare
        self.trust = TLSTrust.forDomain(mailDomain, caFile: caFile)
        self.usernameMinLength = usernameMinLength
        self.usernameMaxLength = usernameMaxLength
        self.passwordMinLength = passwordMinLength
        self.isIPv4 = bare.split(separator: ".").count == 4 && bare.allSatisfy { $0.isNumber || $0 == "." }
    }

    public init(config: ChatmailConfig, caFile: String?) {
        self.init(mailDomain: config.mailDomain, caFile: caFile, usernameMinLength: config.usernameMinLength,
                  usernameMaxLength: config.usernameMaxLength, passwordMinLength: config.passwordMinLength)
    }

    /// A relay given only by its domain (the second relay): a bare IPv4
    /// address becomes a domain literal; limits are taken from `like`.
    public static func other(_ domain: String, like first: RelayEndpoint, caFile: String?) -> RelayEndpoint {
        var d = domain
        if !d.hasPrefix("["), d.split(separator: ".").count == 4, d.allSatisfy({ $0.isNumber || $0 == "." }) { d = "[\(d)]" }
        return RelayEndpoint(mailDomain: d, caFile: caFile, usernameMinLength: first.usernameMinLength,
                             usernameMaxLength: first.usernameMaxLength, passwordMinLength: first.passwordMinLength)
    }

    /// Fresh credentials that create an account on first login: `ac<N>_`
    /// plus random characters, cut to the configured user name length.
    public func newCredentials(_ n: Int = 1, password: String? = nil) -> Account {
        var user = "ac\(n)_" + randomToken(max(usernameMaxLength, 12))
        user = String(user.prefix(max(usernameMinLength, min(usernameMaxLength, user.count))))
        created.record("\(user)@\(mailDomain)")
        return Account(address: "\(user)@\(mailDomain)", password: password ?? randomToken(max(passwordMinLength, 12)))
    }

    public func smtp(_ account: Account? = nil, timeout: Double = 20) async throws -> SMTPClient {
        let client = try await SMTPClient.connect(host: host, port: 465, implicitTLS: true, trust: trust, timeout: timeout)
        do {
            try await client.ehlo()
            if let account { try await client.login(account.address, account.password) }
        } catch {
            client.connection.close()
            throw error
        }
        return client
    }

    /// Port 25 as another mail server would use it: cleartext, then STARTTLS.
    public func mx(timeout: Double = 20) async throws -> SMTPClient {
        let client = try await SMTPClient.connect(host: host, port: 25, implicitTLS: false, trust: trust, timeout: timeout)
        do {
            try await client.ehlo()
            try await client.startTLS(TLSTrust(caFile: trust.caFile, acceptInvalid: true))
        } catch {
            client.connection.close()
            throw error
        }
        return client
    }

    /// A logged-in IMAP session with INBOX selected.
    public func imap(_ account: Account, timeout: Double = 20) async throws -> IMAPClient {
        let client = try await IMAPClient.connect(host: host, trust: trust, timeout: timeout)
        do {
            try await client.loginOrThrow(account.address, account.password)
            try await client.select("INBOX")
        } catch {
            client.connection.close()
            throw error
        }
        return client
    }

    /// Creates the account by logging in once over IMAP.
    public func createAccount(_ n: Int = 1) async throws -> Account {
        let account = newCredentials(n)
        let client = try await imap(account)
        await client.logout()
        return account
    }
}

/// The addresses the tests used on one relay, in order, each once.
public final class CreatedAccounts: @unchecked Sendable {
    private var list: [String] = []
    private var seen: Set<String> = []
    private let lock = NSLock()

    public init() {}

    public func record(_ address: String) {
        lock.lock()
        defer { lock.unlock() }
        if seen.insert(address).inserted { list.append(address) }
    }

    public var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return list
    }
}

public struct Account: Sendable, Hashable {
    public var address: String
    public var password: String
}
