import Foundation
import Testing
@testable import Chatmaild

/// The log lines against the relay's mtail program, read from the template
/// the deploy installs: if either side changes its text, this fails.
@Suite struct LogTests {
    static let mtailProgram: String = {
        let file = #filePath
        let repo = String(file[..<file.range(of: "/Tests/ChatmaildTests/")!.lowerBound])
        let path = repo + "/templates/mtail/delivered_mail.mtail"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            fatalError("cannot read the mtail program at \(path)")
        }
        return text
    }()

    /// The pattern of the first `/regex/ {` block after `counter <name>`.
    static func pattern(of counter: String) throws -> Regex<AnyRegexOutput> {
        let lines = mtailProgram.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0 == "counter \(counter)" }, "no counter \(counter)")
        let block = try #require(lines[start...].first { $0.hasPrefix("/") && $0.hasSuffix("/ {") })
        return try Regex(String(block.dropFirst().dropLast(3)))
    }

    /// A line as `journalctl -o short-iso` hands it to mtail.
    static func journal(_ line: String) -> String {
        "2026-01-02T03:04:05+0000 relay doveauth[123]: " + line
    }

    static func counts(_ counter: String, _ line: String) throws -> Bool {
        try pattern(of: counter).firstMatch(in: journal(line)) != nil
    }

    @Test func warningsAreCountedByMtail() throws {
        #expect(try Self.counts("warning_count", Log.line(.warning, "ignoring unreadable system limit: load average")))
    }

    @Test func infoAndErrorLinesAreNotCountedAsWarnings() throws {
        #expect(try !Self.counts("warning_count", Log.line(.info, "Created address: abcdefgh1@c.test")))
        #expect(try !Self.counts("warning_count", Log.line(.error, "could not hash the password for: a@c.test")))
    }

    @Test func createdAddressIsCountedByMtail() throws {
        #expect(try Self.counts("created_accounts", Log.line(.info, "Created address: abcdefgh1@c.test")))
    }
}
