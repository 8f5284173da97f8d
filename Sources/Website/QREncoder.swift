/// A QR code encoder of our own (ISO/IEC 18004, model 2): 8-bit byte mode
/// at error correction level M, versions 1 to 20 (up to 666 bytes, far more
/// than an invite link). It replaces libqrencode, which Debian ships
/// without a static library, so `cmdeploy` can be one self-contained binary.
enum QREncoder {
    struct TooLong: Error { let bytes: Int }

    /// Per version 1...20 at level M: error correction codewords per block,
    /// then (blocks, data codewords per block) of the two block groups.
    static let levelM: [(ec: Int, g1: (Int, Int), g2: (Int, Int))] = [
        (10, (1, 16), (0, 0)), (16, (1, 28), (0, 0)), (26, (1, 44), (0, 0)), (18, (2, 32), (0, 0)),
        (24, (2, 43), (0, 0)), (16, (4, 27), (0, 0)), (18, (4, 31), (0, 0)), (22, (2, 38), (2, 39)),
        (22, (3, 36), (2, 37)), (26, (4, 43), (1, 44)), (30, (1, 50), (4, 51)), (22, (6, 36), (2, 37)),
        (22, (8, 37), (1, 38)), (24, (4, 40), (5, 41)), (24, (5, 41), (5, 42)), (28, (7, 45), (3, 46)),
        (28, (10, 46), (1, 47)), (26, (9, 43), (4, 44)), (26, (3, 44), (11, 45)), (26, (3, 41), (13, 42)),
    ]

    /// Centres of the alignment patterns per version (row and column alike).
    static let alignment: [[Int]] = [
        [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50],
        [6, 30, 54], [6, 32, 58], [6, 34, 62], [6, 26, 46, 66], [6, 26, 48, 70], [6, 26, 50, 74],
        [6, 30, 54, 78], [6, 30, 56, 82], [6, 30, 58, 86], [6, 34, 62, 90],
    ]

    /// The modules of the symbol for `bytes`, row-major, `true` = dark.
    static func encode(_ bytes: [UInt8]) throws -> (size: Int, modules: [Bool]) {
        // The smallest version whose data codewords hold mode, count and data.
        var version = 0
        for v in 1...levelM.count {
            let countBits = v <= 9 ? 8 : 16
            if 4 + countBits + 8 * bytes.count <= 8 * dataCodewords(v) { version = v; break }
        }
        guard version > 0 else { throw TooLong(bytes: bytes.count) }
        let data = dataCodewordsFor(bytes, version: version)
        let codewords = interleave(data, version: version)
        var symbol = QRSymbol(version: version)
        symbol.drawFunctionPatterns()
        symbol.place(codewords)
        // The mask with the lowest penalty, as the standard asks.
        var best: (penalty: Int, modules: [Bool])?
        for mask in 0..<8 {
            var candidate = symbol
            candidate.apply(mask: mask)
            candidate.drawFormatBits(mask: mask)
            let penalty = candidate.penalty()
            if best == nil || penalty < best!.penalty { best = (penalty, candidate.modules) }
        }
        return (symbol.size, best!.modules)
    }

    static func dataCodewords(_ version: Int) -> Int {
        let t = levelM[version - 1]
        return t.g1.0 * t.g1.1 + t.g2.0 * t.g2.1
    }

    /// Byte mode indicator, character count, the bytes, terminator, padding.
    static func dataCodewordsFor(_ bytes: [UInt8], version: Int) -> [UInt8] {
        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) {
            for i in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> i) & 1 == 1) }
        }
        append(0b0100, 4)
        append(bytes.count, version <= 9 ? 8 : 16)
        for b in bytes { append(Int(b), 8) }
        let capacity = 8 * dataCodewords(version)
        append(0, min(4, capacity - bits.count))
        append(0, (8 - bits.count % 8) % 8)
        var out: [UInt8] = stride(from: 0, to: bits.count, by: 8).map { start in
            bits[start..<start + 8].reduce(UInt8(0)) { $0 << 1 | ($1 ? 1 : 0) }
        }
        var pad: UInt8 = 0xEC
        while out.count < capacity / 8 { out.append(pad); pad = pad == 0xEC ? 0x11 : 0xEC }
        return out
    }

    /// Splits the data into blocks, adds each block's Reed-Solomon codewords,
    /// and interleaves: data column by column, then error correction.
    static func interleave(_ data: [UInt8], version: Int) -> [UInt8] {
        let t = levelM[version - 1]
        var blocks: [[UInt8]] = []
        var offset = 0
        for (count, length) in [t.g1, t.g2] {
            for _ in 0..<count {
                blocks.append(Array(data[offset..<offset + length]))
                offset += length
            }
        }
        let generator = QRReedSolomon.generator(degree: t.ec)
        let ecBlocks = blocks.map { QRReedSolomon.remainder($0, generator: generator) }
        var out: [UInt8] = []
        let longest = blocks.map(\.count).max() ?? 0
        for i in 0..<longest { for b in blocks where i < b.count { out.append(b[i]) } }
        for i in 0..<t.ec { for b in ecBlocks { out.append(b[i]) } }
        return out
    }
}

/// Arithmetic in GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1.
enum QRReedSolomon {
    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var result: UInt8 = 0
        var a = a, b = b
        while b != 0 {
            if b & 1 == 1 { result ^= a }
            let carry = a & 0x80 != 0
            a <<= 1
            if carry { a ^= 0x1D }
            b >>= 1
        }
        return result
    }

    /// Coefficients (highest degree first, the leading 1 left out) of
    /// (x - α^0)(x - α^1)...(x - α^(degree-1)).
    static func generator(degree: Int) -> [UInt8] {
        var coefficients = [UInt8](repeating: 0, count: degree)
        coefficients[degree - 1] = 1
        var root: UInt8 = 1
        for _ in 0..<degree {
            for j in 0..<degree {
                coefficients[j] = multiply(coefficients[j], root)
                if j + 1 < degree { coefficients[j] ^= coefficients[j + 1] }
            }
            root = multiply(root, 0x02)
        }
        return coefficients
    }

    /// The error correction codewords: `data` times x^degree modulo the generator.
    static func remainder(_ data: [UInt8], generator: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: generator.count)
        for byte in data {
            let factor = byte ^ result.removeFirst()
            result.append(0)
            for i in 0..<result.count { result[i] ^= multiply(generator[i], factor) }
        }
        return result
    }
}

/// The module grid while it is drawn: which modules are function patterns
/// (never masked, never data) and the colour of every module.
struct QRSymbol {
    let version: Int
    let size: Int
    var modules: [Bool]
    var isFunction: [Bool]

    init(version: Int) {
        self.version = version
        size = 17 + 4 * version
        modules = [Bool](repeating: false, count: size * size)
        isFunction = [Bool](repeating: false, count: size * size)
    }

    mutating func set(_ x: Int, _ y: Int, _ dark: Bool, function: Bool = true) {
        modules[y * size + x] = dark
        if function { isFunction[y * size + x] = true }
    }

    func dark(_ x: Int, _ y: Int) -> Bool { modules[y * size + x] }

    mutating func drawFunctionPatterns() {
        for i in 0..<size {
            set(6, i, i % 2 == 0)
            set(i, 6, i % 2 == 0)
        }
        for (cx, cy) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            // finder (7x7) and its light separator (the ring around it)
            for dy in -4...4 {
                for dx in -4...4 {
                    let x = cx + dx, y = cy + dy
                    guard x >= 0, y >= 0, x < size, y < size else { continue }
                    let d = max(abs(dx), abs(dy))
                    set(x, y, d != 2 && d != 4)
                }
            }
        }
        let centres = QREncoder.alignment[version - 1]
        for cy in centres {
            for cx in centres {
                // not over the finders
                if (cx == 6 && cy == 6) || (cx == 6 && cy == centres.last!) || (cx == centres.last! && cy == 6) { continue }
                for dy in -2...2 { for dx in -2...2 { set(cx + dx, cy + dy, max(abs(dx), abs(dy)) != 1) } }
            }
        }
        // format areas are reserved now and written per mask
        drawFormatBits(mask: 0)
        if version >= 7 {
            var rem = version
            for _ in 0..<12 { rem = (rem << 1) ^ ((rem >> 11) * 0x1F25) }
            let bits = version << 12 | rem
            for i in 0..<18 {
                let bit = (bits >> i) & 1 == 1
                let a = size - 11 + i % 3, b = i / 3
                set(a, b, bit)
                set(b, a, bit)
            }
        }
    }

    /// The 15 format bits (level M = 00, the mask), BCH-protected, in both copies.
    mutating func drawFormatBits(mask: Int) {
        let data = 0b00 << 3 | mask
        var rem = data
        for _ in 0..<10 { rem = (rem << 1) ^ ((rem >> 9) * 0x537) }
        let bits = (data << 10 | rem) ^ 0x5412
        func bit(_ i: Int) -> Bool { (bits >> i) & 1 == 1 }
        for i in 0...5 { set(8, i, bit(i)) }
        set(8, 7, bit(6))
        set(8, 8, bit(7))
        set(7, 8, bit(8))
        for i in 9..<15 { set(14 - i, 8, bit(i)) }
        for i in 0..<8 { set(size - 1 - i, 8, bit(i)) }
        for i in 8..<15 { set(8, size - 15 + i, bit(i)) }
        set(8, size - 8, true)   // the dark module
    }

    /// Codewords in the zigzag order: two-module columns from the right,
    /// alternately upwards and downwards, skipping the vertical timing pattern.
    mutating func place(_ codewords: [UInt8]) {
        var i = 0
        let total = codewords.count * 8
        var right = size - 1
        while right >= 1 {
            if right == 6 { right = 5 }
            for vert in 0..<size {
                for j in 0..<2 {
                    let x = right - j
                    let upward = (right + 1) & 2 == 0
                    let y = upward ? size - 1 - vert : vert
                    guard !isFunction[y * size + x] else { continue }
                    if i < total {
                        let bit = (codewords[i >> 3] >> (7 - UInt8(i & 7))) & 1 == 1
                        set(x, y, bit, function: false)
                        i += 1
                    }
                }
            }
            right -= 2
        }
    }

    mutating func apply(mask: Int) {
        for y in 0..<size {
            for x in 0..<size where !isFunction[y * size + x] {
                let flip: Bool
                switch mask {
                case 0: flip = (x + y) % 2 == 0
                case 1: flip = y % 2 == 0
                case 2: flip = x % 3 == 0
                case 3: flip = (x + y) % 3 == 0
                case 4: flip = (x / 3 + y / 2) % 2 == 0
                case 5: flip = x * y % 2 + x * y % 3 == 0
                case 6: flip = (x * y % 2 + x * y % 3) % 2 == 0
                default: flip = ((x + y) % 2 + x * y % 3) % 2 == 0
                }
                if flip { modules[y * size + x].toggle() }
            }
        }
    }

    /// The standard's four penalty rules: long runs, 2x2 blocks,
    /// finder-like patterns, and an unbalanced share of dark modules.
    func penalty() -> Int {
        var score = 0
        func line(_ get: (Int) -> Bool) -> Int {
            var s = 0, run = 1
            for i in 1..<size {
                if get(i) == get(i - 1) { run += 1 } else { if run >= 5 { s += run - 2 }; run = 1 }
            }
            if run >= 5 { s += run - 2 }
            // 1:1:3:1:1 with four light modules on one side
            let pattern: [Bool] = [true, false, true, true, true, false, true]
            for i in 0...(size - 7) where (0..<7).allSatisfy({ get(i + $0) == pattern[$0] }) {
                let before = (max(0, i - 4)..<i).allSatisfy { !get($0) } && i >= 4
                let after = (i + 7..<min(size, i + 11)).allSatisfy { !get($0) } && i + 11 <= size
                if before || after { s += 40 }
            }
            return s
        }
        for y in 0..<size { score += line { dark($0, y) } }
        for x in 0..<size { score += line { dark(x, $0) } }
        for y in 0..<size - 1 {
            for x in 0..<size - 1 {
                let c = dark(x, y)
                if c == dark(x + 1, y) && c == dark(x, y + 1) && c == dark(x + 1, y + 1) { score += 3 }
            }
        }
        let darkCount = modules.filter { $0 }.count
        let total = size * size
        let k = (abs(darkCount * 20 - total * 10) + total - 1) / total - 1
        score += max(0, k) * 10
        return score
    }
}
