import Support
/// Escaping for text placed into HTML, attribute values included.
public enum HTML {
    /// By Unicode scalar: a quote followed by a combining mark is one
    /// Character, and must still be escaped.
    public static func escape(_ text: String) -> String {
        escaped(text.unicodeScalars, table)
    }

    private static let table: [Unicode.Scalar: String] = ["&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"]
}
