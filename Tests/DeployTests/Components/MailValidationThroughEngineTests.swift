import Foundation
import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

/// The mail configs' validate commands as the engine runs them (staged next
/// to the live files, in its apply script), on paths inside a temp directory.
@Suite struct MailValidationThroughEngineTests {
    func moved(_ file: File, to path: String) -> File {
        var f = file
        f.path = path
        return f
    }

    @Test func engineRefusesABrokenMainCFAndKeepsTheLiveOne() throws {
        try #require(isInstalled("/usr/sbin/postfix"), "postfix missing: run scripts/initenv.sh --test-deps")
        let root = try scratchDir("engine")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let etc = root + "/postfix"
        try #require(try shell("mkdir -p '\(etc)' && cp -a /etc/postfix/. '\(etc)/'").status == 0)
        let m = try Postfix().manifest(try MailConfigs.context())
        let files = [
            moved(try m.mailFile(Postfix.mainCF), to: etc + "/main.cf"),
            moved(try m.mailFile(Postfix.masterCF), to: etc + "/master.cf"),
            moved(try Dovecot().manifest(try MailConfigs.context()).mailFile(Dovecot.conf), to: root + "/dovecot.conf"),
            moved(try OpenDKIM().manifest(try MailConfigs.context()).mailFile(OpenDKIM.conf), to: root + "/opendkim.conf"),
        ]
        let good = Manifest { files }
        let first = try Engine(host: LocalHost(), desired: try DesiredState([("mail", good)])).run(dryRun: false)
        #expect(first.applied)
        let live = try String(contentsOfFile: etc + "/main.cf", encoding: .utf8)
        #expect(live.contains("myorigin = chat.example.org"))

        var broken = moved(try m.mailFile(Postfix.mainCF), to: etc + "/main.cf")
        broken.content += Array("smtpd_tls_securty_level = encrypt\n".utf8)
        let e = try Engine(host: LocalHost(), desired: try DesiredState([("mail", Manifest { broken })]))
        #expect {
            try e.run(dryRun: false)
        } throws: { error in
            guard let apply = error as? ApplyError else { return false }
            return apply.kind == "validate" && apply.subject == etc + "/main.cf"
                && apply.description.contains("smtpd_tls_securty_level")
        }
        #expect(try String(contentsOfFile: etc + "/main.cf", encoding: .utf8) == live)
    }
}
