import ChatmailConfig
import Foundation
import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

@Suite struct IniWriterTests {
    let dir: String = {
        let d = NSTemporaryDirectory() + "iniwriter-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    @Test func createsRefusesAndForces() throws {
        let path = dir + "/chatmail.ini"
        #expect(try IniWriter.write(path: path, domain: "a.example.org", force: false) == .created)
        let first = try String(contentsOfFile: path, encoding: .utf8)
        #expect(first.contains("mail_domain = a.example.org"))

        // A second init without --force leaves the file untouched.
        #expect(try IniWriter.write(path: path, domain: "b.example.org", force: false) == .refusedExisting)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == first)

        #expect(try IniWriter.write(path: path, domain: "b.example.org", force: true) == .replaced)
        let config = try ChatmailConfig.load(path: path)
        #expect(config.mailDomain == "b.example.org")
        // No temporary files are left next to it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["chatmail.ini"])
    }

    @Test func unwritableDirectoryNamesThePath() throws {
        let path = dir + "/missing-dir/chatmail.ini"
        #expect {
            try IniWriter.write(path: path, domain: "a.example.org", force: false)
        } throws: { error in
            "\(error)".hasPrefix(path + ": cannot write:")
        }
    }
}
