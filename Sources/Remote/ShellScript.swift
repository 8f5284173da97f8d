import Support

/// A piece of /bin/sh script in which every interpolated value is quoted
/// as one word unless it says otherwise, so a path or name taken from the
/// operator's files can never become script by accident:
///
///     let s: ShellScript = "test -f \(path) && rm -f -- \(path)"
///     let t: ShellScript = "\(raw: fragment) || fail \(name)"   // trusted fragment
///
/// Numbers go in as they are; another `ShellScript` goes in as script.
public struct ShellScript: Sendable, Equatable, Hashable, CustomStringConvertible,
                           ExpressibleByStringInterpolation {
    /// The script text, ready for /bin/sh.
    public private(set) var text: String

    public init(stringLiteral value: String) { text = value }
    public init(stringInterpolation: StringInterpolation) { text = stringInterpolation.text }
    /// Script text built elsewhere and trusted as it is.
    public init(raw text: String) { self.text = text }

    public var description: String { text }
    public var isEmpty: Bool { text.isEmpty }

    public struct StringInterpolation: StringInterpolationProtocol {
        var text = ""
        public init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + 16 * interpolationCount)
        }
        public mutating func appendLiteral(_ literal: String) { text += literal }
        /// A value: one quoted word.
        public mutating func appendInterpolation(_ value: String) { text += shellQuote(value) }
        public mutating func appendInterpolation(_ value: Substring) { text += shellQuote(String(value)) }
        /// A number needs no quoting.
        public mutating func appendInterpolation<N: BinaryInteger>(_ value: N) { text += String(value) }
        /// A file mode, in octal as chmod takes it.
        public mutating func appendInterpolation(octal value: UInt32) { text += String(value, radix: 8) }
        /// Several values: each one word, separated by spaces.
        public mutating func appendInterpolation(words: [String]) { text += words.map(shellQuote).joined(separator: " ") }
        /// Script already: inserted as it is.
        public mutating func appendInterpolation(_ script: ShellScript) { text += script.text }
        /// A trusted fragment of script (a constant, or text built from quoted parts).
        public mutating func appendInterpolation(raw fragment: String) { text += fragment }
    }

    public static func + (a: ShellScript, b: ShellScript) -> ShellScript { ShellScript(raw: a.text + b.text) }
    public static func += (a: inout ShellScript, b: ShellScript) { a.text += b.text }
}

extension Sequence where Element == ShellScript {
    public func joined(separator: ShellScript = "") -> ShellScript {
        ShellScript(raw: map(\.text).joined(separator: separator.text))
    }
}
