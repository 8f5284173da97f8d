import ChatmailConfig
import Foundation
@testable import Website
import Support
import TestSupport

/// The repository root, found from this file's path.
let repoRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

let wwwSourceDir = repoRoot + "/www/src"


func testConfig(domain: String = "chat.example.org", extra: String = "", path: String = "chatmail.ini") throws -> ChatmailConfig {
    try ChatmailConfig.parse("[params]\nmail_domain = \(domain)\n\(extra)", path: path)
}

func readFile(_ path: String) throws -> String {
    try String(contentsOfFile: path, encoding: .utf8)
}

/// Decodes the QR codes in an image with zbarimg (Debian zbar-tools).
func decodeQR(_ imagePath: String) throws -> String {
    let r = try runTool("/usr/bin/zbarimg", ["--quiet", "--raw", imagePath], stderr: false)
    return r.output.trimmingCharacters(in: .newlines)
}
