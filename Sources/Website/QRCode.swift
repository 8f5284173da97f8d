import Support

/// A QR code symbol as a square of dark/light modules (QREncoder).
public struct QRCode: Sendable, Equatable {
    /// Modules per side, without the quiet zone.
    public let size: Int
    /// Row-major, `true` = dark.
    public let modules: [Bool]

    public struct EncodingError: Error, CustomStringConvertible {
        public let text: String
        public var description: String { "cannot encode \(text.utf8.count) bytes as a QR code" }
    }

    /// Encodes `text` as 8-bit data at error correction level M: enough
    /// redundancy for a phone camera, small enough to stay readable on paper.
    public static func encode(_ text: String) throws(EncodingError) -> QRCode {
        do {
            let symbol = try QREncoder.encode(Array(text.utf8))
            return QRCode(size: symbol.size, modules: symbol.modules)
        } catch {
            throw EncodingError(text: text)
        }
    }

    public func isDark(x: Int, y: Int) -> Bool {
        x >= 0 && y >= 0 && x < size && y < size && modules[y * size + x]
    }

    /// A scalable SVG, one path for all dark modules (runs of a row merged),
    /// with a `border`-module quiet zone. `label` becomes the accessible name.
    public func svg(border: Int = 4, label: String) -> String {
        let full = size + 2 * border
        var path = ""
        for y in 0..<size {
            var x = 0
            while x < size {
                guard isDark(x: x, y: y) else { x += 1; continue }
                var run = 1
                while isDark(x: x + run, y: y) { run += 1 }
                path += "M\(x + border) \(y + border)h\(run)v1h-\(run)z"
                x += run
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(full) \(full)" \
            shape-rendering="crispEdges" role="img" aria-label="\(HTML.escape(label))">\
            <rect width="\(full)" height="\(full)" fill="#fff"/>\
            <path fill="#000" d="\(path)"/></svg>
            """
    }

    /// A black-on-white PNG, `scale` pixels per module, for printing and for
    /// chat clients that do not show SVG.
    public func png(scale: Int = 8, border: Int = 4) -> [UInt8] {
        let side = (size + 2 * border) * scale
        var pixels = [Bool](repeating: false, count: side * side)
        for y in 0..<side {
            for x in 0..<side where isDark(x: x / scale - border, y: y / scale - border) {
                pixels[y * side + x] = true
            }
        }
        return PNG.blackAndWhite(width: side, height: side, dark: pixels)
    }
}
