import Foundation
import Testing
@testable import ChatmailConfig

/// Every file in Corpus/ states what parsing it must produce in its first
/// lines: `# expect error: MESSAGE` (parsing fails with exactly MESSAGE) or
/// `# expect warning: MESSAGE` lines (parsing succeeds with exactly these
/// warnings). The files are parsed under the display name "chatmail.ini".
struct CorpusCase: CustomTestStringConvertible, Sendable {
    var name: String
    var text: String
    var expectedError: String?
    var expectedWarnings: [String]
    var testDescription: String { name }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    static func all() throws -> [CorpusCase] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".ini") }.sorted()
        return try names.map { name in
            let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            var error: String?
            var warnings: [String] = []
            for line in text.split(separator: "\n") {
                if line.hasPrefix("# expect error: ") { error = String(line.dropFirst(16)) }
                if line.hasPrefix("# expect warning: ") { warnings.append(String(line.dropFirst(18))) }
            }
            return CorpusCase(name: name, text: text, expectedError: error, expectedWarnings: warnings)
        }
    }
}

@Suite struct CorpusTests {
    @Test func corpusIsLargeAndEveryFileHasAnExpectation() throws {
        let cases = try CorpusCase.all()
        #expect(cases.count >= 30)
        for c in cases {
            #expect(c.expectedError != nil || !c.expectedWarnings.isEmpty, "\(c.name) states no expectation")
        }
    }

    @Test(arguments: try CorpusCase.all())
    func corpusFile(_ c: CorpusCase) throws {
        if let expected = c.expectedError {
            #expect(throws: ConfigError.self) { try ChatmailConfig.parse(c.text, path: "chatmail.ini") }
            do {
                _ = try ChatmailConfig.parse(c.text, path: "chatmail.ini")
            } catch {
                #expect(error.description == expected)
            }
        } else {
            let config = try ChatmailConfig.parse(c.text, path: "chatmail.ini")
            #expect(config.warnings.map(\.description) == c.expectedWarnings)
        }
    }
}
