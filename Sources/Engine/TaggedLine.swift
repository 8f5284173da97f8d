import Remote

/// The engine's line protocols, written by the scripts it sends and read
/// back here, in one format: a tag, then tab-separated fields.
///
///     probe   F <fact> <value>   P <package> <status>   R<i> ...   C<i> <base64>   END
///     apply   @@step <what>   @@fail <kind> <what>   @@wait <owner>   @@exit <status>
///
/// Values are single-line (paths, unit names, command output's first line);
/// a field that may hold tabs is read with `rest(from:)`.
struct TaggedLine: Equatable {
    var tag: String
    var fields: [String]

    init(tag: String, fields: [String]) {
        self.tag = tag
        self.fields = fields
    }

    init(_ line: some StringProtocol) {
        let tab: Character = "\t"
        let parts = String(line).split(separator: tab, omittingEmptySubsequences: false).map(String.init)
        tag = parts.first ?? ""
        fields = Array(parts.dropFirst())
    }

    /// Field `i` (0 is the first after the tag), nil when the line is shorter.
    func field(_ i: Int) -> String? { i < fields.count ? fields[i] : nil }

    /// Fields `i...` joined again with tabs (a value that may contain tabs).
    func rest(from i: Int) -> String { i < fields.count ? fields[i...].joined(separator: "\t") : "" }

    /// Shell that prints one line: the tag, then each value as a field.
    /// Values are script words: a quoted constant, `"$1"`, `"$(...)"`.
    static func printf(_ tag: String, _ values: ShellScript...) -> ShellScript {
        let format = Array(repeating: "%s", count: values.count + 1).joined(separator: "\\t") + "\\n"
        return "printf \(format) \(tag)" + values.map { " " + $0 }.joined()
    }
}
