import Foundation
import Testing
import ChatmailConfig
@testable import Deploy

/// The built-in pin table against the upstream facts the team recorded
/// (`../shared/reference/upstream-2026.md` §2, beside the project; the
/// UPSTREAM_REFERENCE variable names another copy), entry by entry.
@Suite struct UpstreamPinsTests {
    /// The rows of §2's table, split into trimmed cells without backticks.
    static func referenceRows() throws -> [[String]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = ProcessInfo.processInfo.environment["UPSTREAM_REFERENCE"]
            ?? root.deletingLastPathComponent().appendingPathComponent("shared/reference/upstream-2026.md").path
        let text = try #require(FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) },
                                "the upstream reference is missing at \(path) (set UPSTREAM_REFERENCE)")
        let start = try #require(text.range(of: "## 2. Pinned downloads"))
        let end = text.range(of: "\n## 3.", range: start.upperBound..<text.endIndex)?.lowerBound ?? text.endIndex
        return text[start.upperBound..<end].split(separator: "\n").compactMap { line in
            guard line.hasPrefix("| ") else { return nil }
            return line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "`", with: "") }
        }
    }

    /// component, version, arch, url, sha256 of the rows naming `component`.
    static func rows(_ component: String) throws -> [[String]] {
        try referenceRows().filter { $0.first == component }
    }

    @Test(arguments: [("chatmail-turn", UpstreamPins.turn), ("iroh-relay", UpstreamPins.iroh), ("mtail", UpstreamPins.mtail)])
    func programPinsMatchTheReference(_ component: String, _ pins: [String: PinnedDownload]) throws {
        let rows = try Self.rows(component)
        #expect(rows.count == 2, "\(component): \(rows)")
        #expect(Set(pins.keys) == Set(rows.map { $0[2] }))
        for row in rows {
            let pin = try #require(pins[row[2]], "\(component) \(row[2])")
            #expect(pin.url == row[3], "\(component) \(row[2])")
            #expect(pin.sha256 == row[4], "\(component) \(row[2])")
            #expect(pin.mirrors.isEmpty)
        }
    }

    /// dovecot-core's amd64 row spells out both URLs; the other rows say
    /// "same pattern" and give the sha256 per architecture ("amd64 / arm64").
    @Test func dovecotPinsMatchTheReference() throws {
        let rows = try Self.rows("dovecot-core") + Self.rows("dovecot-imapd") + Self.rows("dovecot-lmtpd")
        let coreAMD64 = try #require(rows.first { $0[0] == "dovecot-core" && $0[2] == "amd64" })
        let urls = coreAMD64[3].split(separator: " ").map(String.init).filter { $0.hasPrefix("https://") }
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "()")) }
        #expect(urls.count == 2, "\(coreAMD64[3])")
        var expected: [String: String] = [:]   // "pkg arch" -> sha256
        for row in rows {
            let arches = row[2].split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }
            let sums = row[4].split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(arches.count == sums.count, "\(row)")
            #expect(row[1] == "1:2.3.21+dfsg1-3" || row[1] == "same", "\(row)")
            for (a, s) in zip(arches, sums) { expected["\(row[0]) \(a)"] = s }
        }
        #expect(expected.count == 6)
        var seen = 0
        let debian12 = UpstreamPins.dovecot.filter { $0.debianRelease == "12" }
        #expect(debian12.map(\.architecture).sorted() == ["amd64", "arm64"])
        for build in debian12 {
            #expect(build.debianRelease == "12" && build.version == "1:2.3.21+dfsg1-3")
            #expect(build.debs.count == 3)
            for (pkg, deb) in zip(["dovecot-core", "dovecot-imapd", "dovecot-lmtpd"], build.debs) {
                let sha = try #require(expected["\(pkg) \(build.architecture)"], "\(pkg) \(build.architecture)")
                #expect(deb.sha256 == sha, "\(pkg) \(build.architecture)")
                let pattern = { (u: String) in
                    u.replacingOccurrences(of: "dovecot-core_", with: pkg + "_")
                        .replacingOccurrences(of: "_amd64.deb", with: "_\(build.architecture).deb")
                }
                #expect([deb.url] + deb.mirrors == urls.map(pattern), "\(pkg) \(build.architecture)")
                seen += 1
            }
        }
        #expect(seen == 6)
    }

    /// Debian 13's builds: relay PR #1002's table (a row per package, a
    /// column per "debN arch") and its two URL patterns, with a literal "+"
    /// on download.delta.chat and "%2B" on GitHub.
    @Test func debian13DovecotPinsMatchTheReference() throws {
        let rows = try Self.referenceRows()
        let header = try #require(rows.first { $0.count > 4 && $0[0] == "pkg" && $0.contains("deb13 amd64") })
        var expected: [String: String] = [:]   // "pkg arch" -> sha256
        for pkg in ["core", "imapd", "lmtpd"] {
            let row = try #require(rows.first { $0.count == header.count && $0[0] == pkg }, "\(pkg)")
            for arch in ["amd64", "arm64"] {
                let column = try #require(header.firstIndex(of: "deb13 \(arch)"))
                expected["dovecot-\(pkg) \(arch)"] = row[column]
            }
        }
        let debian13 = UpstreamPins.dovecot.filter { $0.debianRelease == "13" }
        #expect(debian13.map(\.architecture).sorted() == ["amd64", "arm64"])
        for build in debian13 {
            #expect(build.version == "1:2.3.21+dfsg1-3+chatmail2+deb13u1")
            #expect(build.debs.count == 3)
            for (pkg, deb) in zip(["dovecot-core", "dovecot-imapd", "dovecot-lmtpd"], build.debs) {
                #expect(deb.sha256 == expected["\(pkg) \(build.architecture)"], "\(pkg) \(build.architecture)")
                let file = "\(pkg)_2.3.21+dfsg1-3+chatmail2+deb13u1_\(build.architecture).deb"
                #expect(deb.url == "https://download.delta.chat/dovecot/" + file)
                #expect(deb.mirrors == ["https://github.com/chatmail/dovecot/releases/download/upstream%2F2.3.21%2Bdfsg1-3%2Bchatmail2/"
                                        + file.replacingOccurrences(of: "+", with: "%2B")])
            }
        }
    }
}
