import Support
/// Escaping for text placed into HTML, attribute values included.
public enum HTML {
    public static func escape(_ text: String) -> String {
        escaped(text, table)
    }

    private static let table: [Character: String] = ["&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"]
}
