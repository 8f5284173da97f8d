import Foundation
import Testing
@testable import Chatmaild

@Suite struct LastLoginTests {
    @Test func setsThePasswordMtimeToTheDay() {
        let dir = TempDir()
        let service = LastLogin(config: testConfig(dir))
        let user = "abcdefgh1@example.org"
        dir.write("mail/\(user)/password", "{SHA512-CRYPT}x")
        var session = DictSession(service: service)
        _ = session.handle(.begin(id: "1", user: user))
        _ = session.handle(.set(id: "1", key: "shared/last-login/\(user)", value: "1700000123"))
        guard case .reply(let r) = session.handle(.commit(id: "1")) else { Issue.record("commit"); return }
        #expect(r == "O\n")
        #expect(dir.mtime("mail/\(user)/password") == 1_700_000_123 / 86400 * 86400)
        _ = session.handle(.begin(id: "2", user: user))
        _ = session.handle(.set(id: "2", key: "shared/other/\(user)", value: "1"))
        guard case .reply(let f) = session.handle(.commit(id: "2")) else { Issue.record("commit"); return }
        #expect(f == "F\n")
        #expect(service.lookup(key: "shared/last-login/\(user)", user: user) == .notFound)
        // Unsafe names never reach the file system.
        #expect(service.set(user: nil, key: "shared/last-login/../../x@example.org", value: "1"))
    }
}

@Suite struct ExpireTests {
    static let user = "abcdefgh1@example.org"
    let now = 1_800_000_000.0

    func mailbox(_ dir: TempDir) {
        let home = "mail/\(Self.user)"
        dir.write("\(home)/password", "x"); dir.setMtime("\(home)/password", now - 86400)
        dir.write("\(home)/cur/old1", "x"); dir.setMtime("\(home)/cur/old1", now - 30 * 86400)
        dir.write("\(home)/.Sub/new/old2", "x"); dir.setMtime("\(home)/.Sub/new/old2", now - 30 * 86400)
        dir.write("\(home)/cur/fresh", "x"); dir.setMtime("\(home)/cur/fresh", now - 86400)
        let big = String(repeating: "x", count: 200_001)
        dir.write("\(home)/cur/bigread", big); dir.setMtime("\(home)/cur/bigread", now - 8 * 86400)
        dir.write("\(home)/new/bigunseen", big); dir.setMtime("\(home)/new/bigunseen", now - 8 * 86400)
        dir.write("\(home)/maildirsize", "x")
        dir.write("\(home)/dovecot.index", "x"); dir.setMtime("\(home)/dovecot.index", now - 90 * 86400)
        dir.write("mail/inactive12@example.org/password", "x")
        dir.setMtime("mail/inactive12@example.org/password", now - 100 * 86400)
        dir.write("mail/nopasswd1@example.org/cur/m", "x")
    }

    @Test func dryRunDeletesNothing() throws {
        let dir = TempDir()
        mailbox(dir)
        let before = try FileManager.default.subpathsOfDirectory(atPath: dir.path).sorted()
        let summary = Expire(config: testConfig(dir), options: .init(remove: false, verbose: true), now: now).run()
        #expect(summary.removedMailboxes == 1)
        #expect(summary.removedFiles == 3)
        #expect(try FileManager.default.subpathsOfDirectory(atPath: dir.path).sorted() == before)
    }

    @Test func removesOldMailInactiveUsersAndLargeReadMail() {
        let dir = TempDir()
        mailbox(dir)
        let summary = Expire(config: testConfig(dir), options: .init(remove: true), now: now).run()
        let home = "mail/\(Self.user)"
        #expect(!dir.exists("mail/inactive12@example.org"))
        #expect(!dir.exists("\(home)/cur/old1"))
        #expect(!dir.exists("\(home)/.Sub/new/old2"))
        #expect(!dir.exists("\(home)/cur/bigread"))
        #expect(dir.exists("\(home)/new/bigunseen"))
        #expect(dir.exists("\(home)/cur/fresh"))
        #expect(dir.exists("\(home)/dovecot.index"))
        #expect(!dir.exists("\(home)/maildirsize"))
        #expect(dir.exists("mail/nopasswd1@example.org/cur/m"))
        #expect(summary == .init(mailboxes: 3, removedMailboxes: 1, files: 5, removedFiles: 3))
    }

    @Test func quotaTrimKeepsRecentMailAndHonoursDryRun() {
        let dir = TempDir()
        let home = dir.path + "/box"
        let day = Int(now) - 3 * 86400
        dir.write("box/cur/\(day).M1P1.host,S=400000,W=400100:2,S", "x")
        dir.write("box/cur/\(day + 10).M2P1.host,S=400000,W=400100:2,", "x")
        dir.write("box/new/\(Int(now) - 60).M3P1.host,S=900000,W=900100", "x")
        dir.write("box/new/not-a-dovecot-name", "x")
        #expect(QuotaTrim.parseName("1700000000.M1P2.host,S=1234,W=1300:2,S")! == (1_700_000_000, 1234))
        #expect(QuotaTrim.parseName("x.y,S=1") == nil)
        #expect(QuotaTrim.parseName("17.,S=1") == nil)
        #expect(QuotaTrim(mailbox: home, dryRun: true, now: now).run(targetBytes: 1_000_000) == 2)
        #expect(dir.exists("box/cur/\(day).M1P1.host,S=400000,W=400100:2,S"))
        // Oldest first; stops at the first message younger than 24 h.
        #expect(QuotaTrim(mailbox: home, dryRun: false, now: now).run(targetBytes: 1_000_000) == 2)
        #expect(!dir.exists("box/cur/\(day).M1P1.host,S=400000,W=400100:2,S"))
        #expect(dir.exists("box/new/\(Int(now) - 60).M3P1.host,S=900000,W=900100"))
        #expect(QuotaTrim(mailbox: home, dryRun: false, now: now).run(targetBytes: 2_000_000) == 0)
    }
}

@Suite struct FSReportTests {
    @Test func countsAccountsSizesAndLogins() {
        let dir = TempDir()
        let now = 1_800_000_000.0
        for (name, loginAgo) in [("abcdefgh1", 0.5), ("abcdefgh2", 20.0), ("ci-abcdef", 0.5)] {
            dir.write("mail/\(name)@example.org/password", "x")
            dir.setMtime("mail/\(name)@example.org/password", now - loginAgo * 86400)
        }
        dir.write("mail/abcdefgh1@example.org/cur/a", String(repeating: "x", count: 200 * 1024))
        dir.write("mail/abcdefgh1@example.org/new/b", "small")
        dir.write("mail/abcdefgh2@example.org/cur/c", String(repeating: "x", count: 2 << 20))
        let report = FSReport(mailboxesDir: dir.path + "/mail", options: .init(), now: now)
        #expect(report.accounts == 3)
        #expect(report.ciAccounts == 1)
        #expect(report.active == [1, 1, 2, 2, 2, 2, 2])
        #expect(report.sizeCounts == [3, 2, 1, 1, 1, 0, 0])
        #expect(report.messageBytes == 200 * 1024 + 5 + (2 << 20))
        #expect(report.extraBytes == 3)
        #expect(report.prometheus.contains("chatmail_accounts{kind=\"user\"} 2\n"))
        #expect(report.prometheus.contains("chatmail_messages_count{min_size=\"102400\"} 2\n"))
        #expect(report.prometheus.contains("chatmail_accounts_active{days=\"10\"} 1\n"))
        #expect(report.summary.hasPrefix("## Mailbox storage use analysis\n"))
        let older = FSReport(mailboxesDir: dir.path + "/mail", options: .init(minLoginAgeDays: 10, mdir: "cur"), now: now)
        #expect(older.sizeCounts[0] == 1)
        try? FSReport.write(report.prometheus, to: dir.path)
        #expect(dir.read("fsreport.prom") == report.prometheus)
        #expect(FSReport.human(1_234_567) == "1.23M")
    }
}

@Suite struct NewEmailTests {
    @Test func proposesCredentialsOfTheRightShape() throws {
        let dir = TempDir()
        let json = NewEmail.credentials(config: testConfig(dir))
        guard case .string(let email)? = json["email"], case .string(let pw)? = json["password"] else {
            Issue.record("fields"); return
        }
        let local = email.split(separator: "@")[0]
        #expect(email.hasSuffix("@example.org"))
        #expect(local.count == 9 && local.allSatisfy { ($0.isLowercase || $0.isNumber) && $0.isASCII })
        #expect(pw.count == 12 && pw.allSatisfy { NewEmail.passwordAlphabet.contains($0) })
        #expect(json["dclogin_url"] == nil)
        // Many draws use the whole alphabet, not a fixed subset.
        let chars = Set((0..<200).flatMap { _ -> [Character] in
            guard case .string(let p)? = NewEmail.credentials(config: testConfig(dir))["password"] else { return [] }
            return Array(p)
        })
        #expect(chars.count > 60)
    }

    @Test func selfSignedIPv4RelayGetsDcloginURL() throws {
        let text = "[params]\nmail_domain = 192.0.2.7\n"
        let config = try ChatmailConfig.parse(text, path: "chatmail.ini")
        let json = NewEmail.credentials(config: config)
        guard case .string(let url)? = json["dclogin_url"], case .string(let email)? = json["email"] else {
            Issue.record("dclogin_url"); return
        }
        #expect(email.hasSuffix("@[192.0.2.7]"))
        #expect(url.hasPrefix("dclogin:" + email + "?p="))
        #expect(url.hasSuffix("&v=1&ih=192.0.2.7&sh=192.0.2.7&ic=3"))
        #expect(NewEmail.dcloginURL(email: "a@[1.2.3.4]", password: "a@b+c d%\"\\", ipv4: nil)
                == "dclogin:a@[1.2.3.4]?p=a%40b%2Bc%20d%25%22%5C&v=1&ic=3")
    }

    @Test func cgiResponseHasHeadersAndOneJSONLine() {
        let dir = TempDir()
        let config = testConfig(dir)
        dir.write("chatmail.ini", "[params]\nmail_domain = example.org\n")
        _ = config
        let ok = NewEmail.response(configPath: dir.path + "/chatmail.ini")
        #expect(ok.hasPrefix("Content-Type: application/json\n\n{\"email\": \""))
        #expect(ok.hasSuffix("\"}\n"))
        let bad = NewEmail.response(configPath: dir.path + "/missing.ini")
        #expect(bad.hasPrefix("Status: 500"))
        #expect(bad.contains("{\"reason\": "))
    }
}

@Suite struct JSONTests {
    @Test func roundTripsLikePython() {
        let text = #"{"a": [1, 2.5, "x\"y\\z\u00e9\n"], "b": {"c": null, "d": true}}"#
        let json = JSON.parse(text)
        #expect(json?.serialized() == text)
        #expect(json?.serialized(compact: true) == #"{"a":[1,2.5,"x\"y\\z\u00e9\n"],"b":{"c":null,"d":true}}"#)
        #expect(JSON.parse("[1,") == nil)
        #expect(JSON.parse("{\"a\":1} x") == nil)
        #expect(JSON.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)) == nil)
        #expect(JSON.number(1700000000.25).serialized() == "1700000000.25")
    }
}

import ChatmailConfig
