import Foundation
import ChatmailConfig
@testable import Chatmaild

/// A temporary directory removed when the value is released.
final class TempDir {
    let path: String
    init() {
        var template = Array((NSTemporaryDirectory() + "chatmaild-test-XXXXXX").utf8CString)
        path = String(cString: mkdtemp(&template)!)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ relative: String, _ text: String) {
        let full = path + "/" + relative
        try? FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: full, contents: Data(text.utf8))
    }

    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path + "/" + relative) }

    func read(_ relative: String) -> String? {
        (try? Data(contentsOf: URL(fileURLWithPath: path + "/" + relative))).map { String(decoding: $0, as: UTF8.self) }
    }

    func setMtime(_ relative: String, _ seconds: Double) {
        try? FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: seconds)], ofItemAtPath: path + "/" + relative)
    }

    func mtime(_ relative: String) -> Int? {
        var st = stat()
        return stat(path + "/" + relative, &st) == 0 ? Int(st.st_mtim.tv_sec) : nil
    }
}

/// A chatmail.ini for tests with mailboxes in `dir`.
func testConfig(_ dir: TempDir, extra: String = "") -> ChatmailConfig {
    let text = """
        [params]
        mail_domain = example.org
        mailboxes_dir = \(dir.path)/mail
        passdb_path = \(dir.path)/passdb.sqlite
        \(extra)
        """
    try? FileManager.default.createDirectory(atPath: dir.path + "/mail", withIntermediateDirectories: true)
    return try! ChatmailConfig.parse(text, path: dir.path + "/chatmail.ini")
}

/// doveauth with system limits that never refuse and no nocreate file.
func testAuth(_ config: ChatmailConfig, dir: TempDir) -> DoveAuth {
    let auth = DoveAuth(config: config)
    auth.rules.nocreatePath = dir.path + "/nocreate"
    auth.rules.limits = SystemLimits(loadAverage: { 0 }, availableMemoryMB: { 100_000 }, freeDiskMB: { _ in 100_000 })
    return auth
}
