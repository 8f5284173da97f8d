import Foundation
import Testing
@testable import Chatmaild

/// doveauth behind the real dict UNIX socket (DictServer in-process), fed
/// what an attacker could make Dovecot send, or send to the socket itself.
@Suite(.serialized) struct DoveAuthSocketTests {
    static let user = "abcdefgh1@example.org"

    func withServer(threads: Int = 2, _ body: (String, TempDir, DoveAuth) throws -> Void) throws {
        let dir = TempDir()
        let socket = dir.path + "/auth.socket"
        let server = DictServer(socketPath: socket, threads: threads)
        let auth = testAuth(testConfig(dir), dir: dir)
        try server.start(service: auth)
        defer { server.stop() }
        try body(socket, dir, auth)
    }

    /// Dovecot's %E (backslash before `"`, `'` and `\`), then the dict
    /// protocol's tab escape, as dict-client sends a key.
    static func key(_ password: String, _ user: String) -> String {
        func pctE(_ s: String) -> String {
            var out = ""
            for c in s.unicodeScalars {
                if c == "\"" || c == "'" || c == "\\" { out += "\\" }
                out.unicodeScalars.append(c)
            }
            return out
        }
        return tabEscape("shared/passdb/" + pctE(password) + "\"" + pctE(user))
    }

    static func mailboxes(_ dir: TempDir) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/mail")) ?? []).sorted()
    }

    static func hash(_ reply: String?) -> String? {
        guard let reply, reply.hasPrefix("O"), case .string(let h)? = JSON.parse(String(reply.dropFirst()))?["password"] else {
            return nil
        }
        return h
    }

    @Test func hostileLoginsCreateNothing() throws {
        try withServer { socket, dir, _ in
            let client = try #require(DictClient(path: socket))
            let names = [
                "../abcdefg@example.org", "abcd/efgh@example.org", "abcd%2fefg@example.org", "abcdefgh\u{0}@example.org",
                "abcdefgh\n@example.org", "abcdefgh\t@example.org", String(repeating: "a", count: 5000) + "@example.org",
                "ABCDEFGH1@example.org", "abcd+efg1@example.org", "\"abcdefg\"@example.org", "abcdéfgh@example.org",
                "abcdefgh1@other.org", "abcdefgh1@example.org@example.org", ".@example.org", "..@example.org",
                ".........@example.org", "@example.org", "abcdefgh1@example.org/../x", "abcdefgh1@example.org\u{0}",
            ]
            for name in names {
                client.send("L" + Self.key("password123", name) + "\t" + tabEscape(name) + "\n")
                #expect(client.line() == "N", "\(name.debugDescription)")
            }
            let passwords = [
                "password123\u{0}", "pass\u{0}word123", String(repeating: "p", count: 512),
                String(repeating: "p", count: 60_000), String(repeating: "ä", count: 256), "short",
            ]
            for pw in passwords {
                client.send("L" + Self.key(pw, Self.user) + "\t" + Self.user + "\n")
                #expect(client.line() == "N", "password of \(pw.utf8.count) bytes")
            }
            // A raw NUL byte in the line (valid UTF-8, no escape needed).
            client.send(Array("Lshared/passdb/password123".utf8) + [0] + Array("x\"\(Self.user)\t\(Self.user)\n".utf8))
            #expect(client.line() == "N")
            // Bytes that are not UTF-8 would be hashed as U+FFFD, a password
            // Dovecot never checks: the lookup fails, the connection goes on.
            client.send(Array("Lshared/passdb/passw".utf8) + [0xF6] + Array("rd123\"\(Self.user)\t\(Self.user)\n".utf8))
            #expect(client.line() == "F")
            client.send(Array("Lshared/passdb/password123\"abcdefgh".utf8) + [0xFF] + Array("@example.org\n".utf8))
            #expect(client.line() == "F")
            #expect(Self.mailboxes(dir) == [])
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["auth.socket", "mail"])
            // The same connection still creates a proper account, with the
            // longest password crypt() takes, and control characters in it.
            let longest = "\t\n\r\u{1}\"\\'" + String(repeating: "x", count: 504)
            #expect(longest.utf8.count == 511)
            client.send("L" + Self.key(longest, Self.user) + "\t" + Self.user + "\n")
            let hash = try #require(Self.hash(client.line()))
            #expect(PasswordHash.verify(longest, stored: hash))
            #expect(Self.mailboxes(dir) == [Self.user])
            // An existing user's password followed by a NUL and anything
            // (crypt() would stop at the NUL) never reaches Dovecot's check.
            let other = "abcdefgh2@example.org"
            client.send("L" + Self.key("password123", other) + "\t" + other + "\n")
            #expect(Self.hash(client.line()) != nil)
            client.send("L" + Self.key("password123\u{0}tail", other) + "\t" + other + "\n")
            #expect(client.line() == "N")
            #expect(Self.mailboxes(dir) == [Self.user, other])
        }
    }

    @Test func linesOverTheLimitAreRefusedHoweverTheyArrive() throws {
        try withServer { socket, dir, _ in
            let limit = DictServer.maxLineLength
            // A creating lookup padded in the user field (which doveauth
            // ignores) to `length` bytes without the newline.
            func line(_ user: String, length: Int) -> [UInt8] {
                let head = "Lshared/passdb/password123\"\(user)\t"
                return Array(head.utf8) + Array(repeating: UInt8(ascii: "u"), count: length - head.utf8.count) + [10]
            }
            let atLimit = try #require(DictClient(path: socket))
            atLimit.send(line("abcdefgh1@example.org", length: limit))
            #expect(atLimit.line()?.hasPrefix("O{") == true)
            // One byte more, complete, in one send: the server must not
            // process it, however its reads split it.
            let over = try #require(DictClient(path: socket))
            over.send(line("abcdefgh2@example.org", length: limit + 1))
            #expect(over.line() == nil)
            // Far over, in one send, followed by a valid request.
            let far = try #require(DictClient(path: socket))
            far.send(line("abcdefgh3@example.org", length: 3 * limit) + Array("Lshared/userdb/abcdefgh1@example.org\n".utf8))
            #expect(far.line() == nil)
            // Just under the limit first, the newline in a later write.
            let split = try #require(DictClient(path: socket))
            let parts = line("abcdefgh4@example.org", length: limit + 10)
            split.send(Array(parts[..<(limit - 100)]))
            usleep(100_000)
            split.send(Array(parts[(limit - 100)...]))
            #expect(split.line() == nil)
            #expect(Self.mailboxes(dir) == ["abcdefgh1@example.org"])
            // The server is fine for everyone else.
            let after = try #require(DictClient(path: socket))
            after.send("Lshared/userdb/abcdefgh1@example.org\n")
            #expect(after.line()?.hasPrefix("O{") == true)
        }
    }

    @Test func concurrentFirstLoginsOnManyConnections() throws {
        try withServer(threads: 4) { socket, dir, _ in
            for round in 0..<6 {
                let user = "race\(String(format: "%05d", round))@example.org"
                let clients = (0..<16).compactMap { _ in DictClient(path: socket) }
                #expect(clients.count == 16)
                let passwords = (0..<16).map { "password-\(round)-\($0)" }
                // All requests out before any reply is read.
                for (c, pw) in zip(clients, passwords) { c.send("L" + Self.key(pw, user) + "\t" + user + "\n") }
                let hashes = clients.map { Self.hash($0.line()) }
                let stored = try #require(Files.readString(dir.path + "/mail/\(user)/password"))
                // Every login got the one stored hash back; Dovecot accepts
                // exactly one of the passwords against it.
                #expect(hashes.allSatisfy { $0 == stored }, "round \(round)")
                let winners = passwords.filter { PasswordHash.verify($0, stored: stored) }
                #expect(winners.count == 1, "round \(round)")
                #expect(Files.exists(dir.path + "/mail/\(user)/enforceE2EEincoming"))
                #expect(Files.list(dir.path + "/mail/\(user)")?.sorted() == ["enforceE2EEincoming", "password"])
                // Logging in again: the winner's password still matches, no other does.
                for (c, pw) in zip(clients, passwords) { c.send("L" + Self.key(pw, user) + "\t" + user + "\n") }
                for (c, pw) in zip(clients, passwords) {
                    let h = try #require(Self.hash(c.line()))
                    #expect(h == stored)
                    #expect(PasswordHash.verify(pw, stored: h) == (pw == winners.first))
                }
            }
            #expect(Self.mailboxes(dir).count == 6)
        }
    }
}
