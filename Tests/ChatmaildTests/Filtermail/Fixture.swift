import Foundation

/// Loads a hand-written message from Fixtures/ beside this file and fills
/// in the `{from_addr}`, `{to_addr}` and `{subject}` placeholders.
enum Fixture {
    static let directory: String = {
        let file = #filePath
        return String(file[..<file.lastIndex(of: "/")!]) + "/Fixtures"
    }()

    static func bytes(_ name: String, from: String = "alice@c.test", to: String = "bob@c.test",
                      subject: String = "[...]") -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: directory + "/" + name) else {
            fatalError("missing fixture \(name) in \(directory)")
        }
        let filled = String(decoding: data, as: UTF8.self)
            .replacingOccurrences(of: "{from_addr}", with: from)
            .replacingOccurrences(of: "{to_addr}", with: to)
            .replacingOccurrences(of: "{subject}", with: subject)
        return Array(filled.utf8)
    }
}
