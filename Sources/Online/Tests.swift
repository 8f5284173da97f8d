import Deploy
import Foundation
import MailClient
import Remote

/// The online tests of the Python `cmdeploy test`, those that need no Delta
/// Chat client.
/// Each creates its own random accounts, so they do not depend on each other.
let tests: [OnlineTest] = [
    OnlineTest("imap capabilities include XCHATMAIL and XDELTAPUSH") { ctx in
        let imap = try await ctx.relay.imap(ctx.relay.newCredentials())
        defer { imap.connection.close() }
        let caps = try await imap.capabilities()
        for wanted in ["XCHATMAIL", "XDELTAPUSH"] {
            try require(caps.contains(wanted), "\(imap.endpoint): CAPABILITY lacks \(wanted): \(caps.joined(separator: " "))")
        }
    },

    OnlineTest("login over imap creates the account, second login works") { ctx in
        let account = ctx.relay.newCredentials()
        for attempt in ["first", "second"] {
            let imap = try await IMAPClient.connect(host: ctx.relay.host, trust: ctx.relay.trust)
            defer { imap.connection.close() }
            let result = try await imap.login(account.address, account.password)
            try require(result.ok, "\(imap.endpoint): \(attempt) LOGIN as \(account.address) refused: \(result.completion)")
        }
        // The account exists for SMTP too.
        let smtp = try await ctx.relay.smtp(account)
        await smtp.quit()
    },

    OnlineTest("login over smtp creates the account, second login works") { ctx in
        let account = ctx.relay.newCredentials()
        for _ in 0..<2 {
            let smtp = try await ctx.relay.smtp(account)
            await smtp.quit()
        }
        let imap = try await ctx.relay.imap(account)
        await imap.logout()
    },

    OnlineTest("wrong password is refused") { ctx in
        let account = try await ctx.relay.createAccount()
        let wrong = account.password + "x"
        let imap = try await IMAPClient.connect(host: ctx.relay.host, trust: ctx.relay.trust)
        defer { imap.connection.close() }
        let result = try await imap.login(account.address, wrong)
        try require(!result.ok, "\(imap.endpoint): LOGIN with a wrong password succeeded")
        let smtp = try await ctx.relay.smtp()
        defer { smtp.connection.close() }
        let reply = try await smtp.authPlain(account.address, wrong)
        try require(reply.code == 535, "\(smtp.endpoint): AUTH with a wrong password: expected 535, got \(reply)")
    },

    OnlineTest("new account with a too short password is refused") { ctx in
        let account = ctx.relay.newCredentials(password: "admin")
        let imap = try await IMAPClient.connect(host: ctx.relay.host, trust: ctx.relay.trust)
        defer { imap.connection.close() }
        let result = try await imap.login(account.address, account.password)
        try require(!result.ok, "\(imap.endpoint): LOGIN with password 'admin' created \(account.address)")
        let smtp = try await ctx.relay.smtp()
        defer { smtp.connection.close() }
        let reply = try await smtp.authPlain(account.address, account.password)
        try require(reply.code == 535, "\(smtp.endpoint): AUTH with password 'admin': expected 535, got \(reply)")
    },

    OnlineTest("two users may have the same password") { ctx in
        let first = try await ctx.relay.createAccount()
        var second = ctx.relay.newCredentials(2)
        second.password = first.password
        let imap = try await ctx.relay.imap(second)
        await imap.logout()
        let smtp = try await ctx.relay.smtp(first)
        await smtp.quit()
    },

    OnlineTest("10 concurrent smtp+imap logins to one new account") { ctx in
        let account = ctx.relay.newCredentials()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    let smtp = try await ctx.relay.smtp(account)
                    let imap = try await ctx.relay.imap(account)
                    await smtp.quit()
                    await imap.logout()
                }
            }
            try await group.waitForAll()
        }
    },

    OnlineTest("VRFY on port 25 answers 252 for every address") { ctx in
        let existing = try await ctx.relay.createAccount()
        let mx = try await ctx.relay.mx()
        defer { mx.connection.close() }
        for target in ["wrongaddress@\(ctx.relay.mailDomain)", existing.address, "wrongaddress", "echo"] {
            let reply = try await mx.send("VRFY \(target)", what: "VRFY")
            try require(reply.code == 252 && reply.lines[0].hasPrefix("2.0.0 "),
                        "\(mx.endpoint): VRFY \(target): expected 252 2.0.0, got \(reply)")
        }
    },

    OnlineTest("forged From header is refused (500)") { ctx in
        let sender = try await ctx.relay.createAccount(1)
        let other = try await ctx.relay.createAccount(2)
        let smtp = try await ctx.relay.smtp(sender)
        defer { smtp.connection.close() }
        for forged in [other.address, "someone@example.org"] {
            let message = TestMessage.encrypted(from: forged, to: [other.address])
            let t = try await smtp.sendMail(from: sender.address, to: [other.address], message: message)
            try require(t.failure?.code == 500, "\(smtp.endpoint): From: \(forged) sent by \(sender.address) was \(t.summary), expected 500")
        }
    },

    OnlineTest("envelope sender other than the login is refused (553)") { ctx in
        let sender = try await ctx.relay.createAccount(1)
        let other = try await ctx.relay.createAccount(2)
        let smtp = try await ctx.relay.smtp(sender)
        defer { smtp.connection.close() }
        let t = try await smtp.sendMail(from: other.address, to: [other.address],
                                        message: TestMessage.encrypted(from: other.address, to: [other.address]))
        try require(t.failure?.code == 553, "\(smtp.endpoint): MAIL FROM \(other.address) as \(sender.address) was \(t.summary), expected 553")
    },

    OnlineTest("unsigned mail on port 25 is refused for missing DKIM",
               skip: { $0.relay.isIPv4 ? "IPv4 relays do not use DKIM" : nil }) { ctx in
        let recipient = try await ctx.relay.createAccount()
        let mx = try await ctx.relay.mx()
        defer { mx.connection.close() }
        for sender in ["fake@example.org", "fake@\(ctx.relay.mailDomain)"] {
            let t = try await mx.sendMail(from: sender, to: [recipient.address],
                                          message: TestMessage.encrypted(from: sender, to: [recipient.address]))
            let text = t.failure?.text ?? ""
            try require(t.failure.map { $0.code >= 500 } == true && text.contains("DKIM"),
                        "\(mx.endpoint): unsigned mail from \(sender) was \(t.summary), expected a DKIM refusal")
        }
    },

    OnlineTest("subject is rewritten to [...]") { ctx in
        let sender = try await ctx.relay.createAccount(1)
        let recipient = try await ctx.relay.createAccount(2)
        let stored = try await deliver({ TestMessage.encrypted(from: $0, to: [$1], subject: "Unencrypted subject") },
                                       from: ctx.relay, sender, to: ctx.relay, recipient)
        let subjects = header("Subject", in: stored)
        try require(subjects == ["[...]"], "stored message has Subject \(subjects), expected [\"[...]\"]")
        try require(!String(decoding: stored, as: UTF8.self).contains("Unencrypted subject"),
                    "stored message still contains the original subject")
    },

    OnlineTest("sending faster than the rate limit gets 450 after the burst") { ctx in
        let sender = try await ctx.relay.createAccount(1)
        let recipient = try await ctx.relay.createAccount(2)
        let smtp = try await ctx.relay.smtp(sender)
        defer { smtp.connection.close() }
        let burst = ctx.config.maxUserSendBurstSize
        for index in 0..<(3 * ctx.config.maxUserSendPerMinute) {
            let t = try await smtp.sendMail(from: sender.address, to: [recipient.address],
                                            message: TestMessage.encrypted(from: sender.address, to: [recipient.address]))
            guard let failure = t.failure else { continue }
            try require(index >= burst, "\(smtp.endpoint): message \(index + 1) refused before the burst of \(burst): \(failure)")
            try require(failure.code == 450 && failure.text.contains("4.7.1: Too much mail from"),
                        "\(smtp.endpoint): message \(index + 1): expected 450 4.7.1 Too much mail, got \(failure)")
            return
        }
        throw TestFailure("\(smtp.endpoint): \(3 * ctx.config.maxUserSendPerMinute) messages in a row were all accepted")
    },

    OnlineTest("cleartext outgoing mail is refused (523)") { ctx in
        let sender = try await ctx.relay.createAccount(1)
        let recipient = try await ctx.relay.createAccount(2)
        let smtp = try await ctx.relay.smtp(sender)
        defer { smtp.connection.close() }
        let t = try await smtp.sendMail(from: sender.address, to: [recipient.address],
                                        message: TestMessage.plain(from: sender.address, to: [recipient.address]))
        try require(t.failure?.code == 523, "\(smtp.endpoint): cleartext mail was \(t.summary), expected 523")
    },

    OnlineTest("cleartext incoming mail to an account enforcing encryption is refused (523)") { ctx in
        let recipient = try await ctx.relay.createAccount()
        let mx = try await ctx.relay.mx()
        defer { mx.connection.close() }
        let sender = "someone@example.org"
        let t = try await mx.sendMail(from: sender, to: [recipient.address],
                                      message: TestMessage.plain(from: sender, to: [recipient.address]))
        try require(t.failure?.code == 523, "\(mx.endpoint): cleartext mail to \(recipient.address) was \(t.summary), expected 523")
    },

    OnlineTest("Secure-Join request passes unencrypted") { ctx in
        let sender = try await ctx.relay.createAccount(1)
        let recipient = try await ctx.relay.createAccount(2)
        let stored = try await deliver({ TestMessage.secureJoinRequest(from: $0, to: [$1]) },
                                       from: ctx.relay, sender, to: ctx.relay, recipient)
        try require(header("Secure-Join", in: stored) == ["vc-request"], "stored message lacks Secure-Join: vc-request")
    },

    OnlineTest("METADATA device token round trip") { ctx in
        let imap = try await ctx.relay.imap(ctx.relay.newCredentials())
        defer { imap.connection.close() }
        let entry = "/private/devicetoken"
        for (token, expected) in [("1111", "1111"), ("2222", "1111 2222")] {
            let set = try await imap.setMetadata("INBOX", entry, token)
            try require(set.ok, "\(imap.endpoint): SETMETADATA \(token): \(set.completion)")
            let value = try await imap.getMetadata("INBOX", entry)
            try require(value == expected, "\(imap.endpoint): GETMETADATA \(entry) = \(value ?? "nil"), expected \(expected)")
        }
    },

    OnlineTest("appversions metadata is valid JSON") { ctx in
        let imap = try await ctx.relay.imap(ctx.relay.newCredentials())
        defer { imap.connection.close() }
        let entry = "/shared/vendor/deltachat/appversions"
        guard let value = try await imap.getMetadata("", entry) else {
            throw TestFailure("\(imap.endpoint): GETMETADATA \"\" \(entry) returned nothing")
        }
        try checkAppVersions(value)
    },

    OnlineTest("expiry leaves no old files in mailboxes") { ctx in
        let dir = ctx.config.mailboxesDir
        let old = ctx.config.deleteMailsAfter + 1
        let large = ctx.config.deleteLargeAfter + 1
        // Mail older than delete_mails_after in cur/new/tmp (subfolders too),
        // large mail older than delete_large_after in cur.
        let command = "test -d \(shellQuote(dir)) || exit 0; "
            + "find \(shellQuote(dir)) -type f \\( -path '*/cur/*' -o -path '*/new/*' -o -path '*/tmp/*' \\) -mtime +\(old) | head -5; "
            + "find \(shellQuote(dir)) -type f -path '*/cur/*' -size +200k -mtime +\(large) | head -5"
        let found = try ctx.remote(command).stdoutText.split(separator: "\n")
        try require(found.isEmpty, "expired files still present: \(found.joined(separator: ", "))")
    },

    OnlineTest("POST /new creates a working account") { ctx in
        let response = try await HTTPSClient.request("POST", host: ctx.relay.host, path: "/new", trust: ctx.relay.trust)
        let endpoint = "\(ctx.relay.host):443"
        try require(response.status == 200, "\(endpoint): POST /new: HTTP \(response.status) \(response.bodyText.prefix(200))")
        guard let json = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
              let email = json["email"] as? String, let password = json["password"] as? String
        else { throw TestFailure("\(endpoint): POST /new: not a JSON account: \(response.bodyText.prefix(200))") }
        try require(email.hasSuffix("@\(ctx.relay.mailDomain)"), "\(endpoint): /new gave \(email), not on \(ctx.relay.mailDomain)")
        try require(password.count >= ctx.config.passwordMinLength, "\(endpoint): /new password is shorter than password_min_length")
        ctx.relay.created.record(email)
        let imap = try await ctx.relay.imap(Account(address: email, password: password))
        await imap.logout()
    },

    OnlineTest("deployed version matches this checkout") { ctx in
        let remote = try ctx.remote("cat /etc/chatmail-version").stdoutText
        func lines(_ s: String) -> [String] {
            s.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        }
        let deployed = lines(remote), local = lines(ctx.localVersion)
        try require(deployed == local, "/etc/chatmail-version is \(deployed.first ?? "empty") (\(deployed.count) lines), "
            + "this cmdeploy is \(local.first ?? "?") (\(local.count) lines): you have undeployed changes")
    },

    // MARK: tests with a second relay

    OnlineTest("mail between the two relays is delivered both ways", skip: needsSecond) { ctx in
        let second = ctx.second!
        let a = try await ctx.relay.createAccount(1)
        let b = try await second.createAccount(2)
        for (from, sender, to, recipient) in [(ctx.relay, a, second, b), (second, b, ctx.relay, a)] {
            let stored = try await deliver({ TestMessage.encrypted(from: $0, to: [$1]) }, from: from, sender, to: to, recipient)
            for name in ["DKIM-Signature", "Authentication-Results"] {
                try require(header(name, in: stored).isEmpty, "message from \(from.mailDomain) stored on \(to.mailDomain) still has \(name)")
            }
        }
    },

    OnlineTest("bounces from the relay are DKIM-signed and delivered", skip: { ctx in
        needsSecond(ctx) ?? (ctx.relay.isIPv4 || ctx.second!.isIPv4 ? "IPv4 relays do not use DKIM" : nil)
    }) { ctx in
        let second = ctx.second!
        let sender = try await second.createAccount(1)
        let imap = try await second.imap(sender)
        defer { imap.connection.close() }
        let before = imap.exists
        let nobody = "nosuchuser_test42@\(ctx.relay.mailDomain)"
        let smtp = try await second.smtp(sender)
        try await smtp.deliver(from: sender.address, to: [nobody], message: TestMessage.encrypted(from: sender.address, to: [nobody]))
        await smtp.quit()
        try await imap.waitForMessages(before + 1, timeout: 60)
        let bounce = String(decoding: try await imap.fetch(before + 1), as: UTF8.self).lowercased()
        try require((bounce.contains("mail delivery") || bounce.contains("undelivered")) && bounce.contains(nobody),
                    "message in \(sender.address)'s INBOX is not a bounce for \(nobody): \(bounce.prefix(200))")
        // A bounce for another reason (e.g. relay 1 refusing relay 2's DKIM
        // signature) would arrive just as fast; it must be the unknown user.
        // Only the Diagnostic-Code tells why: the bounce itself carries a
        // DKIM-Signature header (relay 2 accepted it because it verified).
        let reason = bounce.range(of: "diagnostic-code:").map { String(bounce[$0.lowerBound...].prefix(300)) } ?? ""
        try require(!reason.contains("dkim") && ["5.1.1", "unknown", "does not exist", "doesn't exist"].contains(where: reason.contains),
                    "bounce for \(nobody) is not for an unknown user: \(reason.isEmpty ? String(bounce.prefix(200)) : reason)")
    },
]

let needsSecond: @Sendable (OnlineContext) -> String? = { $0.second == nil ? "needs --second-relay" : nil }

/// The appversions schema the Python relay's own tests hold the bundled file
/// to: only `clients`, each with `clientId`
/// and `sources`; sources with ids, version and a download URL of Delta Chat.
func checkAppVersions(_ text: String) throws {
    guard let root = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw TestFailure("appversions is not a JSON object: \(text.prefix(120))")
    }
    try require(Array(root.keys) == ["clients"], "appversions keys are \(root.keys.sorted()), expected [clients]")
    guard let clients = root["clients"] as? [[String: Any]] else { throw TestFailure("appversions clients is not a list of objects") }
    var ids = Set<String>()
    for client in clients {
        guard let id = client["clientId"] as? String, let sources = client["sources"] as? [[String: Any]] else {
            throw TestFailure("appversions client without clientId or sources: \(client.keys.sorted())")
        }
        try require(ids.insert(id).inserted, "appversions has client \(id) twice")
        for source in sources {
            let url = source["downloadUrl"] as? String ?? ""
            try require(source["sourceId"] is String && source["versionString"] is String && source["versionInteger"] is NSNumber,
                        "appversions source of \(id) lacks sourceId, versionString or versionInteger")
            try require(url.hasPrefix("https://github.com/deltachat/") || url.hasPrefix("https://download.delta.chat/"),
                        "appversions source of \(id) has download URL \(url)")
        }
    }
}

