// A reader for chatmail.ini that accepts exactly what Python's `iniconfig`
// (used by the Python relay) accepts, but keeps line numbers so every error
// can point at the offending line.
//
// Rules mirrored from iniconfig:
//  - a line whose first non-blank character is `#` or `;` is a comment;
//  - `[name]` opens a section (a trailing `# comment` after `]` is allowed);
//  - `key = value` or `key: value` (colon must be followed by a space);
//  - values are stripped, inline comments are NOT removed;
//  - an indented line continues the previous value, joined with "\n";
//  - duplicate keys and duplicate sections are errors.

import Support

public struct IniEntry: Sendable, Equatable {
    public var key: String
    public var value: String
    /// 1-based line number of the `key = value` line.
    public var line: Int
}

public struct IniSection: Sendable, Equatable {
    public var name: String
    public var line: Int
    public var entries: [IniEntry]

    public subscript(key: String) -> IniEntry? {
        entries.first { $0.key == key }
    }
}

public struct IniFile: Sendable, Equatable {
    public var sections: [IniSection]

    public func section(_ name: String) -> IniSection? {
        sections.first { $0.name == name }
    }

    /// Parses INI text. `path` is only used in error messages.
    public static func parse(_ text: String, path: String) throws(ConfigError) -> IniFile {
        var sections: [IniSection] = []
        // Index of the section/entry that an indented continuation line extends.
        var lastWasEntry = false

        // Like Python's str.splitlines(): \n, \r\n and \r all end a line.
        // ("\r\n" is a single Character in Swift, hence the explicit check.)
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
        for (index, rawLine) in lines.enumerated() {
            let lineNo = index + 1
            let stripped = rawLine.drop { $0 == " " || $0 == "\t" }
            if stripped.isEmpty || stripped.first == "#" || stripped.first == ";" {
                continue
            }
            let line = String(rawLine.trimmingTrailingWhitespace())
            guard let first = line.first else { continue }

            if first == "[" {
                // Section header; comment characters end the header text.
                var header = Substring(line)
                if let cut = header.firstIndex(where: { $0 == "#" || $0 == ";" }) {
                    header = header[..<cut]
                }
                header = header.trimmingTrailingWhitespace()
                if header.hasSuffix("]") {
                    let name = String(header.dropFirst().dropLast())
                    if name.isEmpty {
                        throw ConfigError(path: path, line: lineNo, message: "empty section name \"[]\"")
                    }
                    if sections.contains(where: { $0.name == name }) {
                        let earlier = sections.first { $0.name == name }!.line
                        throw ConfigError(
                            path: path, line: lineNo,
                            message: "duplicate section [\(name)] (first defined on line \(earlier))")
                    }
                    sections.append(IniSection(name: name, line: lineNo, entries: []))
                    lastWasEntry = false
                    continue
                }
                // iniconfig treats an unterminated "[..." as a value continuation,
                // which is never what the author meant: say so plainly.
                throw ConfigError(
                    path: path, line: lineNo,
                    message: "malformed section header \(quoted(line)): expected \"[name]\"")
            }

            if first == " " || first == "\t" {
                // Continuation of the previous value.
                guard lastWasEntry, !sections.isEmpty, var entry = sections[sections.count - 1].entries.popLast() else {
                    throw ConfigError(
                        path: path, line: lineNo,
                        message: "unexpected indented line \(quoted(line.trimmingWhitespace())): "
                            + "indentation continues the previous value, but there is none")
                }
                let data = line.trimmingWhitespace()
                entry.value = entry.value.isEmpty ? data : entry.value + "\n" + data
                sections[sections.count - 1].entries.append(entry)
                continue
            }

            // key = value  or  key: value
            let name: String
            let value: String
            if let eq = line.firstIndex(of: "="), !line[..<eq].contains(":") {
                name = line[..<eq].trimmingWhitespace()
                value = line[line.index(after: eq)...].trimmingWhitespace()
            } else if let colon = line.firstRange(of: ": ") {
                name = line[..<colon.lowerBound].trimmingWhitespace()
                value = line[colon.upperBound...].trimmingWhitespace()
            } else {
                throw ConfigError(
                    path: path, line: lineNo,
                    message: "unexpected line \(quoted(line)): expected \"key = value\", a [section] or a # comment")
            }
            guard !sections.isEmpty else {
                throw ConfigError(
                    path: path, line: lineNo, key: name.isEmpty ? nil : name,
                    message: "setting before any section header; put it below \"[params]\"")
            }
            if name.isEmpty {
                throw ConfigError(path: path, line: lineNo, message: "missing key name before \"=\" in \(quoted(line))")
            }
            if let earlier = sections[sections.count - 1][name] {
                throw ConfigError(
                    path: path, line: lineNo, key: name,
                    message: "duplicate key (first set on line \(earlier.line))")
            }
            sections[sections.count - 1].entries.append(IniEntry(key: name, value: value, line: lineNo))
            lastWasEntry = true
        }
        return IniFile(sections: sections)
    }
}

/// `s` in double quotes for a message, with quotes, backslashes, newlines and tabs escaped.
func quoted(_ s: some StringProtocol) -> String {
    // By scalar: "\r\n" or a quote with a combining mark is one Character.
    "\"" + escaped(s.unicodeScalars, quotedEscapes) + "\""
}

private let quotedEscapes: [Unicode.Scalar: String] = ["\"": "\\\"", "\\": "\\\\", "\n": "\\n", "\t": "\\t"]

extension StringProtocol {
    func trimmingWhitespace() -> String {
        String(trimmingTrailingWhitespace().drop { $0.isWhitespace })
    }

    func trimmingTrailingWhitespace() -> SubSequence {
        var end = endIndex
        while end > startIndex {
            let before = index(before: end)
            if !self[before].isWhitespace { break }
            end = before
        }
        return self[startIndex..<end]
    }
}
