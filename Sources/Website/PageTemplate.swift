import Support
/// The small template language of the page sources, a subset of Mustache:
///
///     {{ name }}               the value, HTML-escaped
///     {{{ name }}}             the value as is (for HTML such as the QR code)
///     {{#name}} … {{/name}}    the part only when the value is set and not empty
///     {{^name}} … {{/name}}    the part only when the value is unset or empty
///
/// A section tag alone on its line takes the whole line with it, so Markdown
/// sources can wrap whole paragraphs. Unknown names and unbalanced sections
/// are errors that name the file and line: a typo must not publish an empty
/// privacy policy.
public struct PageTemplate: Sendable {
    indirect enum Node: Sendable {
        case text(String)
        case value(name: String, raw: Bool)
        case section(name: String, inverted: Bool, body: [Node])
    }

    let file: String
    let nodes: [Node]

    public init(_ source: String, file: String, knownNames: Set<String>) throws(WebsiteError) {
        self.file = file
        var parser = Parser(source: Array(source), file: file, known: knownNames)
        nodes = try parser.parseAll()
    }

    /// Keeps `{{ value }}` tags as they are and resolves only sections: the
    /// Markdown sources are rendered this way first, then through cmark, and
    /// get their values in the layout pass, HTML-escaped.
    public func renderSections(_ values: PageValues) -> String {
        render(nodes, values, substitute: false)
    }

    public func render(_ values: PageValues) -> String {
        render(nodes, values, substitute: true)
    }

    private func render(_ nodes: [Node], _ values: PageValues, substitute: Bool) -> String {
        var out = ""
        for node in nodes {
            switch node {
            case .text(let s):
                out += s
            case .value(let name, let raw):
                if !substitute {
                    out += raw ? "{{{\(name)}}}" : "{{\(name)}}"
                } else if raw {
                    out += values[name]
                } else {
                    out += HTML.escape(values[name])
                }
            case .section(let name, let inverted, let body):
                if values.isSet(name) != inverted {
                    out += render(body, values, substitute: substitute)
                }
            }
        }
        return out
    }

    struct Parser {
        let source: [Character]
        let file: String
        let known: Set<String>
        var pos = 0
        var line = 1

        init(source: [Character], file: String, known: Set<String>) {
            self.source = source
            self.file = file
            self.known = known
        }

        mutating func parseAll() throws(WebsiteError) -> [Node] {
            let (nodes, closing) = try parse(until: nil)
            if let closing {
                throw WebsiteError(file: file, line: closing.line, "{{/\(closing.name)}} closes no open section")
            }
            return nodes
        }

        /// Parses up to the `{{/name}}` closing `open` (or the end when `open` is nil).
        mutating func parse(until open: (name: String, line: Int)?) throws(WebsiteError) -> ([Node], (name: String, line: Int)?) {
            var nodes: [Node] = []
            var text = ""
            func flush() { if !text.isEmpty { nodes.append(.text(text)); text = "" } }
            while pos < source.count {
                guard starts(with: "{{") else {
                    if source[pos] == "\n" { line += 1 }
                    text.append(source[pos]); pos += 1
                    continue
                }
                let tagLine = line
                let raw = starts(with: "{{{")
                let close: String = raw ? "}}}" : "}}"
                let start = pos + (raw ? 3 : 2)
                guard let end = find(close, from: start) else {
                    throw WebsiteError(file: file, line: tagLine, "\"\(raw ? "{{{" : "{{")\" is never closed with \"\(close)\"")
                }
                var inner = String(source[start..<end]).trimmingSpaces()
                let sigil = raw ? nil : inner.first.flatMap { "#^/".contains($0) ? $0 : nil }
                if sigil != nil { inner = String(inner.dropFirst()).trimmingSpaces() }
                let name = inner
                guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    throw WebsiteError(file: file, line: tagLine, "\(quotedTag(start: pos, end: end + close.count)) is not a valid tag; names are letters, digits and _")
                }
                let tagStart = pos
                pos = end + close.count
                for c in source[tagStart..<pos] where c == "\n" { line += 1 }
                guard let sigil else {
                    try requireKnown(name, line: tagLine)
                    flush()
                    nodes.append(.value(name: name, raw: raw))
                    continue
                }
                // Section tags alone on a line swallow that line.
                if let lineStart = standaloneStart(tagStart: tagStart, text: text) {
                    text.removeLast(text.count - lineStart)
                    skipRestOfLine()
                }
                flush()
                if sigil == "/" {
                    guard let open else {
                        throw WebsiteError(file: file, line: tagLine, "{{/\(name)}} closes no open section")
                    }
                    guard open.name == name else {
                        throw WebsiteError(file: file, line: tagLine,
                                           "{{/\(name)}} found, but the section {{#\(open.name)}} opened on line \(open.line) is still open")
                    }
                    return (nodes, (name, tagLine))
                }
                try requireKnown(name, line: tagLine)
                let (body, closing) = try parse(until: (name, tagLine))
                guard closing != nil else {
                    throw WebsiteError(file: file, line: tagLine, "section {{\(sigil)\(name)}} is never closed with {{/\(name)}}")
                }
                nodes.append(.section(name: name, inverted: sigil == "^", body: body))
            }
            flush()
            return (nodes, nil)
        }

        func requireKnown(_ name: String, line: Int) throws(WebsiteError) {
            guard known.contains(name) else {
                let names = known.sorted().joined(separator: ", ")
                throw WebsiteError(file: file, line: line, "unknown name \"\(name)\"; known names are: \(names)")
            }
        }

        func starts(with s: String) -> Bool {
            var i = pos
            for c in s {
                guard i < source.count, source[i] == c else { return false }
                i += 1
            }
            return true
        }

        func find(_ s: String, from: Int) -> Int? {
            let target = Array(s)
            var i = from
            while i + target.count <= source.count {
                if source[i] == "\n" { return nil }  // tags do not span lines
                if source[i] == target[0], zip(source[i...], target).allSatisfy({ $0 == $1 }) { return i }
                i += 1
            }
            return nil
        }

        func quotedTag(start: Int, end: Int) -> String {
            "\"" + String(source[start..<min(end, source.count)]) + "\""
        }

        /// When only blanks stand between the line start and the tag, and
        /// between the tag and the line end: the count of `text` to keep.
        func standaloneStart(tagStart: Int, text: String) -> Int? {
            var i = tagStart - 1
            while i >= 0, source[i] == " " || source[i] == "\t" { i -= 1 }
            guard i < 0 || source[i] == "\n" else { return nil }
            var j = pos
            while j < source.count, source[j] == " " || source[j] == "\t" || source[j] == "\r" { j += 1 }
            guard j == source.count || source[j] == "\n" else { return nil }
            let blanks = tagStart - 1 - i
            return text.count - blanks
        }

        mutating func skipRestOfLine() {
            while pos < source.count, source[pos] != "\n" { pos += 1 }
            if pos < source.count { pos += 1; line += 1 }
        }
    }
}

/// The values a page can use, by name.
public struct PageValues: Sendable {
    public var strings: [String: String] = [:]
    public init(_ strings: [String: String] = [:]) { self.strings = strings }

    public subscript(name: String) -> String {
        get { strings[name] ?? "" }
        set { strings[name] = newValue }
    }
    public var names: Set<String> { Set(strings.keys) }
    /// Sections test this: unset, empty and "false" are all off.
    public func isSet(_ name: String) -> Bool {
        guard let v = strings[name] else { return false }
        return !v.isEmpty && v != "false"
    }
}

/// A problem with the web page sources, naming the file and, where known, the line.
public struct WebsiteError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let line: Int?
    public let message: String
    public init(file: String, line: Int? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }
    public var description: String {
        line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)"
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}
