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
}
