import Foundation
import Testing
import TestSupport
@testable import Online
import Remote

/// The cleanup after `cmdeploy test`, run on this machine against a scratch
/// mailboxes folder: only the run's own, well-formed addresses go.
@Suite struct AccountCleanupTests {
    @Test func removesExactlyTheAccountsTheRunMade() throws {
        let dir = try scratchDir("cleanup")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        for name in ["ac1_abcdefg@chat.example.org", "ac2_hijklmn@chat.example.org", "realuser1@chat.example.org"] {
            try fm.createDirectory(atPath: "\(dir)/\(name)/cur", withIntermediateDirectories: true)
            try "x".write(toFile: "\(dir)/\(name)/password", atomically: true, encoding: .utf8)
        }
        try "keep".write(toFile: "\(dir)/outside", atomically: true, encoding: .utf8)
        let made = ["ac1_abcdefg@chat.example.org", "ac2_hijklmn@chat.example.org",
                    "ac3_neverlogged@chat.example.org",          // credentials only: never created
                    "../outside@chat.example.org", "a/b@chat.example.org", ".@chat.example.org",
                    "ac4_other@other.example.org"]                // not this relay
        let result = try AccountCleanup.run(on: LocalHost(), addresses: made, domain: "chat.example.org",
                                            dirScript: "dir=\(dir)")
        #expect(result == AccountCleanup.Result(removed: 2, left: 0))
        #expect(try fm.contentsOfDirectory(atPath: dir).sorted() == ["outside", "realuser1@chat.example.org"])
    }

    @Test func nothingToDoWithoutAccounts() throws {
        #expect(try AccountCleanup.run(on: LocalHost(), addresses: [], domain: "x.org", dirScript: "dir=/nonexistent") == nil)
        #expect(AccountCleanup.script(addresses: ["../x@x.org"], domain: "x.org", dirScript: "dir=/") == nil)
    }

    @Test func theSecondRelaysFolderComesFromItsDeployedIni() throws {
        #expect(AccountCleanup.mailboxesDirScript(domain: "x.org").contains("/usr/local/lib/chatmaild/chatmail.ini"))
        let dir = try scratchDir("ini")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ini = dir + "/chatmail.ini"
        func folder() throws -> String {
            try shell(AccountCleanup.mailboxesDirScript(domain: "[192.0.2.7]", ini: ini) + "; echo \"$dir\"").output
        }
        #expect(try folder() == "/home/vmail/mail/192.0.2.7\n", "no ini: the default")
        try "[params]\nmail_domain = 192.0.2.7\nmailboxes_dir = /srv/mail/a\nmailboxes_dir = /srv/mail/b\n"
            .write(toFile: ini, atomically: true, encoding: .utf8)
        #expect(try folder() == "/srv/mail/b\n", "the ini's last mailboxes_dir")
    }

    @Test func everyCredentialIsRecordedOnce() {
        let relay = RelayEndpoint(mailDomain: "chat.example.org", caFile: nil)
        let copy = relay
        let a = relay.newCredentials(1), b = copy.newCredentials(2)
        relay.created.record(a.address)
        #expect(relay.created.all == [a.address, b.address])
    }
}
