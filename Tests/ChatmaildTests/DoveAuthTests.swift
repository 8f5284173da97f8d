import Foundation
import Testing
@testable import Chatmaild

@Suite struct DoveAuthTests {
    static let user = "abcdefgh1@example.org"

    func passdb(_ auth: DoveAuth, _ password: String, _ user: String) -> DictLookupResult {
        let esc = { (s: String) in s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") }
        return auth.lookup(key: "shared/passdb/\(esc(password))\"\(esc(user))", user: user)
    }

    @Test func createsOnFirstLoginAndKeepsTheHash() throws {
        let dir = TempDir()
        let auth = testAuth(testConfig(dir), dir: dir)
        #expect(auth.lookup(key: "shared/userdb/\(Self.user)", user: Self.user) == .notFound)
        guard case .found(let record) = passdb(auth, "password123", Self.user) else {
            Issue.record("first login must create"); return
        }
        let json = try #require(JSON.parse(record))
        #expect(json["addr"] == .string(Self.user))
        #expect(json["home"] == .string(dir.path + "/mail/" + Self.user))
        #expect(json["uid"] == .string("vmail"))
        #expect(json["gid"] == .string("vmail"))
        guard case .string(let hash)? = json["password"] else { Issue.record("no password"); return }
        #expect(hash.hasPrefix("{SHA512-CRYPT}$6$"))
        #expect(PasswordHash.verify("password123", stored: hash))
        #expect(!PasswordHash.verify("password124", stored: hash))
        #expect(dir.read("mail/\(Self.user)/password") == hash)
        #expect(dir.exists("mail/\(Self.user)/enforceE2EEincoming"))
        // A wrong password returns the stored record; Dovecot compares and refuses.
        #expect(passdb(auth, "otherpassword", Self.user) == .found(record))
        #expect(dir.read("mail/\(Self.user)/password") == hash)
        #expect(auth.lookup(key: "shared/userdb/\(Self.user)", user: Self.user) == .found(record))
    }

    @Test func passwordsWithQuotesAndBackslashes() {
        let dir = TempDir()
        let auth = testAuth(testConfig(dir), dir: dir)
        let pw = #"a"b\c'd/e"\"#
        guard case .found(let record) = passdb(auth, pw, Self.user),
              case .string(let hash)? = JSON.parse(record)?["password"] else { Issue.record("create"); return }
        #expect(PasswordHash.verify(pw, stored: hash))
        #expect(DoveAuth.splitEscaped(#"p\"w"u@x"#) == [#"p"w"#, "u@x"])
        #expect(DoveAuth.splitEscaped(#"trailing\"#) == nil)
        #expect(auth.lookup(key: #"shared/passdb/pw\"#, user: nil) == .failed)
    }

    @Test func creationRulesAndTheirMessages() {
        let dir = TempDir()
        let config = testConfig(dir)
        var rules = testAuth(config, dir: dir).rules
        #expect(rules.refusal(addr: Self.user, password: "password123") == nil)
        #expect(rules.refusal(addr: Self.user, password: "short") == "Password needs to be at least 9 characters long")
        #expect(rules.refusal(addr: "ab@cd@example.org", password: "password123") == "user 'ab@cd@example.org' is not a proper e-mail address")
        #expect(rules.refusal(addr: "abc@example.org", password: "password123") == "localpart abc has to be between 9 and 9 chars long")
        #expect(rules.refusal(addr: "abcdEfgh1@example.org", password: "password123") == "localpart 'abcdEfgh1' contains invalid characters")
        for bad in ["abcd+fgh1", "abcd fgh1", "abcd!fgh1", "abcd/fgh1", "abcd\\fgh1", "äbcdefgh1"] {
            #expect(rules.refusal(addr: bad + "@example.org", password: "password123") != nil)
        }
        rules.limits.loadAverage = { 7.1 }
        #expect(rules.refusal(addr: Self.user, password: "password123") == "registration rejected: load avg 7.10 > 5.00")
        rules.limits.loadAverage = { nil }
        rules.limits.availableMemoryMB = { 150 }
        #expect(rules.refusal(addr: Self.user, password: "password123") == "registration rejected: available memory 150MB < 200MB")
        rules.limits.availableMemoryMB = { 100_000 }
        rules.limits.freeDiskMB = { _ in 900 }
        #expect(rules.refusal(addr: Self.user, password: "password123") == "registration rejected: free disk 900MB < 1024MB")
        dir.write("nocreate", "")
        #expect(rules.refusal(addr: Self.user, password: "password123") == "blocked account creation because '\(dir.path)/nocreate' exists.")
    }

    @Test func existingUsersLogInWhenCreationIsBlocked() {
        let dir = TempDir()
        let auth = testAuth(testConfig(dir), dir: dir)
        guard case .found(let record) = passdb(auth, "password123", Self.user) else { Issue.record("create"); return }
        dir.write("nocreate", "")
        #expect(passdb(auth, "password123", Self.user) == .found(record))
        #expect(passdb(auth, "password123", "abcdefgh2@example.org") == .notFound)
        #expect(!dir.exists("mail/abcdefgh2@example.org"))
    }

    @Test func badUsernamesCreateNothing() throws {
        let dir = TempDir()
        let auth = testAuth(testConfig(dir), dir: dir)
        let bad = ["../../etc@example.org", "abc/efgh1@example.org", "ABCDEFGHI@example.org", "abcdefg\u{0}1@example.org",
                   "ábcdefgh1@example.org", "..@example.org", ".@example.org", "abcdefgh1@other.org", "@example.org",
                   "abcdefgh1@example.org/../../x"]
        for user in bad {
            #expect(passdb(auth, "password123", user) == .notFound, "\(user)")
            #expect(auth.lookup(key: "shared/userdb/\(user)", user: user) == .notFound)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/mail") == [])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["mail"])
    }

    @Test func emptyPasswordFileIsNoUser() {
        let dir = TempDir()
        let auth = testAuth(testConfig(dir), dir: dir)
        dir.write("mail/\(Self.user)/password", "")
        #expect(auth.lookup(key: "shared/userdb/\(Self.user)", user: Self.user) == .notFound)
    }

    @Test func onlyPossibleCreationsLeaveTheEventLoop() {
        let dir = TempDir()
        let auth = testAuth(testConfig(dir), dir: dir)
        let key = "shared/passdb/password123\"\(Self.user)"
        #expect(auth.isSlow(key: key, user: Self.user))
        _ = passdb(auth, "password123", Self.user)
        #expect(!auth.isSlow(key: key, user: Self.user))
        #expect(!auth.isSlow(key: "shared/userdb/abcdefgh2@example.org", user: nil))
        #expect(!auth.isSlow(key: "shared/passdb/pw\"../x@example.org", user: nil))
    }

    @Test func cachedHashesFollowFileChanges() {
        let dir = TempDir()
        let auth = testAuth(testConfig(dir), dir: dir)
        guard case .found = passdb(auth, "password123", Self.user) else { Issue.record("create"); return }
        let key = "shared/userdb/\(Self.user)"
        guard case .found = auth.lookup(key: key, user: Self.user) else { Issue.record("cached"); return }
        // Editing the file by hand blocks the user at once, cache or not.
        dir.write("mail/\(Self.user)/password", "")
        #expect(auth.lookup(key: key, user: Self.user) == .notFound)
        dir.write("mail/\(Self.user)/password", "{SHA512-CRYPT}$6$edited")
        guard case .found(let record) = auth.lookup(key: key, user: Self.user) else { Issue.record("edited"); return }
        #expect(JSON.parse(record)?["password"] == .string("{SHA512-CRYPT}$6$edited"))
        try? FileManager.default.removeItem(atPath: dir.path + "/mail/\(Self.user)/password")
        #expect(auth.lookup(key: key, user: Self.user) == .notFound)
    }

    @Test func iteratesAddresses() {
        let dir = TempDir()
        let auth = testAuth(testConfig(dir), dir: dir)
        _ = passdb(auth, "password123", Self.user)
        _ = passdb(auth, "password123", "abcdefgh2@example.org")
        dir.write("mail/pending_notifications/x", "")
        let rows = auth.iterate(path: "shared/userdb/", user: nil)
        #expect(rows?.map(\.0) == ["shared/userdb/abcdefgh1@example.org", "shared/userdb/abcdefgh2@example.org"])
        #expect(rows?.allSatisfy { $0.1.isEmpty } == true)
        #expect(auth.iterate(path: "shared/other/", user: nil) == nil)
        #expect(auth.lookup(key: "shared/other/x", user: nil) == .failed)
        #expect(auth.lookup(key: "priv/userdb/x", user: nil) == .failed)
    }

    @Test func concurrentFirstLoginsCreateOneHash() async {
        let dir = TempDir()
        let auth = testAuth(testConfig(dir), dir: dir)
        let results = await withTaskGroup(of: DictLookupResult.self) { group in
            for i in 0..<10 {
                group.addTask { self.passdb(auth, "password\(100 + i)", Self.user) }
            }
            var all: [DictLookupResult] = []
            for await r in group { all.append(r) }
            return all
        }
        let records = Set(results.compactMap { r -> String? in if case .found(let s) = r { return s }; return nil })
        #expect(results.count == 10)
        #expect(records.count == 1)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/mail/" + Self.user)) ?? []
        #expect(!files.contains { $0.contains(".tmp") })
    }

    /// Every name under dir/mail, recursively, sorted ("a", "a/b", ...).
    static func tree(_ dir: TempDir) -> [String] {
        let base = dir.path + "/mail"
        return ((FileManager.default.enumerator(atPath: base)?.allObjects as? [String]) ?? []).sorted()
    }

    static func hash(_ result: DictLookupResult) -> String? {
        guard case .found(let record) = result, case .string(let hash)? = JSON.parse(record)?["password"] else { return nil }
        return hash
    }

    @Test func passwordsCryptCannotHashAreRefusedBeforeAnythingIsCreated() throws {
        let dir = TempDir()
        let auth = testAuth(testConfig(dir), dir: dir)
        // libxcrypt hashes at most 511 bytes; Dovecot's crypt() the same.
        #expect(PasswordHash.maxBytes == 511)
        for length in [512, 513, 600, 4096, 60_000] {
            #expect(passdb(auth, String(repeating: "p", count: length), Self.user) == .notFound, "\(length)")
            #expect(Self.tree(dir) == [], "\(length) bytes left \(Self.tree(dir))")
        }
        // Multi-byte characters count in bytes: 256 "ä" are 512 bytes.
        #expect(passdb(auth, String(repeating: "ä", count: 256), Self.user) == .notFound)
        #expect(Self.tree(dir) == [])
        let longest = String(repeating: "p", count: 511)
        let hash = try #require(Self.hash(passdb(auth, longest, Self.user)))
        #expect(PasswordHash.verify(longest, stored: hash))
        #expect(Self.tree(dir) == [Self.user, Self.user + "/enforceE2EEincoming", Self.user + "/password"])
        // An existing user with a password crypt() refuses: refused as well.
        #expect(passdb(auth, longest + "p", Self.user) == .notFound)
        #expect(dir.read("mail/\(Self.user)/password") == hash)
    }

    @Test func passwordsWithNULNeverCreateOrMatch() throws {
        let dir = TempDir()
        let auth = testAuth(testConfig(dir), dir: dir)
        for pw in ["password123\u{0}", "\u{0}password123", "pass\u{0}word123", "password123\u{0}anything"] {
            #expect(passdb(auth, pw, Self.user) == .notFound)
        }
        #expect(Self.tree(dir) == [])
        #expect(PasswordHash.make("password123\u{0}x") == nil)
        let hash = try #require(Self.hash(passdb(auth, "password123", Self.user)))
        // crypt() would see only "password123": such a login must never match.
        #expect(PasswordHash.verify("password123", stored: hash))
        #expect(!PasswordHash.verify("password123\u{0}x", stored: hash))
        #expect(passdb(auth, "password123\u{0}x", Self.user) == .notFound)
        // Through the dict protocol's tab escape too (\u{1}0 is a NUL).
        let request = DictRequest.parse("Lshared/passdb/password123\u{1}0x\"\(Self.user)\t\(Self.user)")
        var session = DictSession(service: auth)
        guard case .reply(let line) = session.handle(request) else { Issue.record("no reply"); return }
        #expect(line == "N\n")
        // Other control characters hash and verify like any byte (as in the
        // Python relay, which refused only what crypt() raised on).
        let other = "abcdefgh2@example.org"
        let tabbed = try #require(Self.hash(passdb(auth, "pass\tword\n12\u{1}", other)))
        #expect(PasswordHash.verify("pass\tword\n12\u{1}", stored: tabbed))
    }

    @Test func aFailedPasswordWriteLeavesNothingBehind() throws {
        let dir = TempDir()
        let auth = testAuth(testConfig(dir), dir: dir)
        // The temporary file gets half the hash, then the write fails (a
        // full disk): no folder, no flag, no temporary file may remain.
        auth.writePassword = { fd, bytes in
            _ = Files.writeAll(fd, Array(bytes.prefix(bytes.count / 2)))
            return false
        }
        #expect(passdb(auth, "password123", Self.user) == .notFound)
        #expect(Self.tree(dir) == [])
        // A folder that was there before (without a password) stays, with
        // nothing of the failed creation in it.
        dir.write("mail/\(Self.user)/cur/keep", "")
        #expect(passdb(auth, "password123", Self.user) == .notFound)
        #expect(Self.tree(dir) == [Self.user, Self.user + "/cur", Self.user + "/cur/keep"])
        auth.writePassword = { Files.writeAll($0, $1) }
        let hash = try #require(Self.hash(passdb(auth, "password123", Self.user)))
        #expect(dir.read("mail/\(Self.user)/password") == hash)
        #expect(dir.exists("mail/\(Self.user)/enforceE2EEincoming"))
    }

    @Test func aFailedRenameKeepsAFlagItDidNotMake() throws {
        let dir = TempDir()
        let auth = testAuth(testConfig(dir), dir: dir)
        // A directory named "password": the rename fails for real.
        try FileManager.default.createDirectory(atPath: dir.path + "/mail/\(Self.user)/password", withIntermediateDirectories: true)
        #expect(passdb(auth, "password123", Self.user) == .notFound)
        #expect(Self.tree(dir) == [Self.user, Self.user + "/password"])
        // With a flag already there (e.g. from an older half-made account),
        // the failure leaves it, and a later success keeps it.
        dir.write("mail/\(Self.user)/enforceE2EEincoming", "")
        #expect(passdb(auth, "password123", Self.user) == .notFound)
        #expect(Self.tree(dir) == [Self.user, Self.user + "/enforceE2EEincoming", Self.user + "/password"])
        try FileManager.default.removeItem(atPath: dir.path + "/mail/\(Self.user)/password")
        #expect(Self.hash(passdb(auth, "password123", Self.user)) != nil)
        #expect(Self.tree(dir) == [Self.user, Self.user + "/enforceE2EEincoming", Self.user + "/password"])
    }

    @Test func hostileNamesNeverLeaveTheMailboxesDir() throws {
        let dir = TempDir()
        let auth = testAuth(testConfig(dir), dir: dir)
        let long = String(repeating: "a", count: 300)
        let hostile = [
            "../abcdefg@example.org", "../../../tmp/abcdefgh1@example.org", "abcd/efgh@example.org",
            "abcd%2fefg@example.org", "abcd%2Fefg@example.org", "..%2f..%2fx@example.org", "abcdefgh\u{0}@example.org",
            "abcdefgh\n@example.org", "abcdefgh\t@example.org", "abcdefgh\r@example.org", "abcdefgh1@example.org\n",
            "abcdefgh1@example.org\u{0}", "\u{0}abcdefgh@example.org", long + "@example.org", "ABCDEFGH1@example.org",
            "Abcdefgh1@example.org", "abcdefgh1@EXAMPLE.ORG", "abcd+efg1@example.org", "\"abcdefg\"@example.org",
            "\"a b c d\"@example.org", "abcdefgh1@example.org@example.org", "abcdefgh1@other.org",
            "abcdefgh1@example.org.evil", "abcdefgh1@sub.example.org", "abcdefgh1@xexample.org", ".@example.org",
            "..@example.org", "...@example.org", ".........@example.org", ".abcdefgh@example.org", "@example.org",
            "abcdefgh1", "", "/", "/etc/passwd", "abcdéfgh@example.org", "abcde\u{301}fgh@example.org",
            "abcdefgh1@example.org\u{301}", "abcdefgh1@\u{301}example.org", "абвгдежзи@example.org",
            "abcdefgh\\@example.org", "abcdefg\u{7f}@example.org", "abcdefgh\u{1}@example.org",
            "abcdefgh1@example.org/../../x", "abcdefgh1@example.org/", " abcdefgh@example.org",
        ]
        for user in hostile {
            #expect(passdb(auth, "password123", user) == .notFound, "\(user.debugDescription)")
            #expect(auth.lookup(key: "shared/userdb/\(user)", user: user) == .notFound, "\(user.debugDescription)")
            #expect(!auth.isSlow(key: "shared/passdb/password123\"\(user)", user: nil) || Address.isSafeMailbox(user, domain: "example.org"))
        }
        #expect(Self.tree(dir) == [])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["mail"])
        // The Python rules: [a-z0-9._-], 9 to 9 code points by default.
        for user in ["abc.defg1@example.org", "abc_defg1@example.org", "abc-defg1@example.org", "a.b.c.d.e@example.org"] {
            #expect(Self.hash(passdb(auth, "password123", user)) != nil, "\(user)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/mail").count == 4)
    }

    @Test func lengthLimitsComeFromChatmailIni() throws {
        let dir = TempDir()
        let auth = testAuth(testConfig(dir, extra: """
            username_min_length = 3
            username_max_length = 12
            password_min_length = 15
            """), dir: dir)
        #expect(passdb(auth, "fourteen-chars", "abc@example.org") == .notFound)
        #expect(Self.hash(passdb(auth, "fifteen-chars!!", "abc@example.org")) != nil)
        #expect(passdb(auth, "fifteen-chars!!", "ab@example.org") == .notFound)
        #expect(Self.hash(passdb(auth, "fifteen-chars!!", "abcdefghijkl@example.org")) != nil)
        #expect(passdb(auth, "fifteen-chars!!", "abcdefghijklm@example.org") == .notFound)
        // Code points, as Python's len(): 15 "ä" are 15 characters, 30 bytes.
        #expect(Self.hash(passdb(auth, String(repeating: "ä", count: 15), "xyz@example.org")) != nil)
        // Dots are allowed characters, but "." and ".." never reach the disk.
        #expect(passdb(auth, "fifteen-chars!!", "...@example.org") == .notFound)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/mail").sorted()
            == ["abc@example.org", "abcdefghijkl@example.org", "xyz@example.org"])
    }

    @Test func refusalTextsCannotForgeLogLines() {
        let dir = TempDir()
        let rules = testAuth(testConfig(dir), dir: dir).rules
        #expect(rules.refusal(addr: "abcdefg\n1@example.org", password: "password123")
            == "localpart 'abcdefg\\n1' contains invalid characters")
        #expect(rules.refusal(addr: "ab\ncd\n@x@example.org", password: "password123")
            == "user 'ab\\ncd\\n@x@example.org' is not a proper e-mail address")
        #expect(rules.refusal(addr: "a\u{0}c@example.org", password: "password123")
            == "localpart a\\x00c has to be between 9 and 9 chars long")
        #expect(rules.refusal(addr: ".bcdefgh1@example.org", password: "password123")
            == "user '.bcdefgh1@example.org' cannot be a mailbox name under \(dir.path)/mail")
        #expect(rules.refusal(addr: Self.user, password: "password\u{0}123") == "Password must not contain a NUL character")
        #expect(rules.refusal(addr: Self.user, password: String(repeating: "x", count: 512))
            == "Password needs to be at most 511 bytes long")
        #expect(logQuoted("it's") == #"'it\'s'"#)
        #expect(logEscaped(String(repeating: "x", count: 300)).count == 203)
    }

    @Test func unescapedQuotesInThePassdbKeyAreRefused() {
        let dir = TempDir()
        let auth = testAuth(testConfig(dir), dir: dir)
        // Dovecot escapes every quote; a third field is not Dovecot.
        #expect(auth.lookup(key: "shared/passdb/pass\"word123\"\(Self.user)", user: nil) == .notFound)
        #expect(auth.lookup(key: "shared/passdb/password123\"\(Self.user)\"x", user: nil) == .notFound)
        #expect(Self.tree(dir) == [])
        // A combining mark after a separator does not hide it.
        #expect(DoveAuth.splitEscaped("p\"\u{301}u") == ["p", "\u{301}u"])
        #expect(DoveAuth.splitEscaped("\\\u{301}\"u") == ["\u{301}", "u"])
        guard case .found = auth.lookup(key: "shared/passdb/\u{301}password1\"\(Self.user)", user: nil) else {
            Issue.record("a password starting with a combining mark"); return
        }
    }

    @Test func concurrentFirstLoginsWithFailuresKeepTheInvariant() async throws {
        // Half the logins fail while writing: whichever order they run in,
        // a folder with a password has the flag and the hash of a login that
        // succeeded, and every answer carries that hash.
        for round in 0..<5 {
            let dir = TempDir()
            let auth = testAuth(testConfig(dir), dir: dir)
            // The login's task says whether its write fails.
            auth.writePassword = { fd, bytes in FailingWrites.current ? false : Files.writeAll(fd, bytes) }
            let results = await withTaskGroup(of: (String, DictLookupResult).self) { group in
                for i in 0..<16 {
                    let pw = (i % 2 == 0 ? "fail" : "good") + "password\(i)"
                    group.addTask {
                        FailingWrites.$current.withValue(pw.hasPrefix("fail")) { (pw, self.passdb(auth, pw, Self.user)) }
                    }
                }
                var all: [(String, DictLookupResult)] = []
                for await r in group { all.append(r) }
                return all
            }
            // Eight logins write successfully, so one of them created it.
            let stored = try #require(dir.read("mail/\(Self.user)/password"), "round \(round)")
            #expect(dir.exists("mail/\(Self.user)/enforceE2EEincoming"))
            let winners = results.filter { PasswordHash.verify($0.0, stored: stored) }
            #expect(winners.count == 1, "round \(round)")
            #expect(winners.allSatisfy { $0.0.hasPrefix("good") })
            for (pw, r) in results {
                // A failing login that came after the winner gets the record
                // (Dovecot refuses its password); before it, nothing.
                if let h = Self.hash(r) { #expect(h == stored) } else { #expect(pw.hasPrefix("fail")) }
            }
            #expect(!Self.tree(dir).contains { $0.contains(".tmp") })
        }
    }
}

/// Which concurrent test logins should fail their password write.
enum FailingWrites {
    @TaskLocal static var current = false
}
