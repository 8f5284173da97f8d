/// Checks on e-mail addresses before they become paths under mailboxes_dir.
enum Address {
    /// True if `addr` is usable as one directory name inside mailboxes_dir:
    /// ends with `@domain`, no `/`, no NUL or control characters, no leading
    /// dot (so never `.` or `..`). This guards every file access; creation
    /// applies the stricter rules of `CreateRules` on top.
    static func isSafeMailbox(_ addr: String, domain: String) -> Bool {
        guard addr.hasSuffix("@" + domain), addr.utf8.count > domain.utf8.count + 1,
              addr.utf8.count <= 255, !addr.hasPrefix(".") else { return false }
        return !addr.utf8.contains { $0 == UInt8(ascii: "/") || $0 < 0x20 || $0 == 0x7F }
    }
}
