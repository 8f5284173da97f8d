/// One DNS record the relay wants published, in zone-file form.
public struct ZoneRecord: Equatable, Sendable {
    /// Absolute owner name with the trailing dot ("chat.example.org.").
    public var name: String
    /// Upper-case record type ("TXT").
    public var type: String
    /// Record data as written in a zone file (TXT values quoted).
    public var rdata: String
    /// Required records decide the exit code; recommended ones only warn.
    public var required: Bool

    public init(name: String, type: String, rdata: String, required: Bool) {
        self.name = name
        self.type = type
        self.rdata = rdata
        self.required = required
    }

    /// The owner name without its trailing dot, as dig is asked for it.
    public var queryName: String { name.hasSuffix(".") ? String(name.dropLast()) : name }

    /// The zone-file line, with the Python tool's fixed column widths so a
    /// zone written by either tool diffs cleanly.
    public var line: String {
        pad(name, 40) + " " + pad("3600", 6) + " IN  " + pad(type, 5) + "  " + rdata
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}
