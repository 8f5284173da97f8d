import Support
/// A minimal POSIX tar (ustar) writer: regular files only, with a pax
/// header for paths longer than ustar's 100 bytes. It is the transport for
/// `putAll`: many files in one stream into one remote `tar -x`.
struct TarStream {
    private(set) var bytes: [UInt8] = []

    mutating func addFile(path: String, content: [UInt8], mode: UInt32) {
        let name = Array(path.utf8)
        if name.count > 100 {
            // A pax record is "<length> path=<value>\n", the length counting itself.
            let body = " path=" + path + "\n"
            var length = body.utf8.count + 1
            while String(length).utf8.count + body.utf8.count != length { length += 1 }
            let record = Array((String(length) + body).utf8)
            appendEntry(name: Array("PaxHeader".utf8), size: record.count, mode: 0o644, type: UInt8(ascii: "x"))
            appendPadded(record)
            appendEntry(name: Array(name.suffix(100)), size: content.count, mode: mode, type: UInt8(ascii: "0"))
        } else {
            appendEntry(name: name, size: content.count, mode: mode, type: UInt8(ascii: "0"))
        }
        appendPadded(content)
    }

    /// Ends the archive with two zero blocks.
    mutating func finish() {
        bytes.append(contentsOf: [UInt8](repeating: 0, count: 1024))
    }

    private mutating func appendEntry(name: [UInt8], size: Int, mode: UInt32, type: UInt8) {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ field: [UInt8], at offset: Int) {
            for (i, b) in field.enumerated() { header[offset + i] = b }
        }
        func octal(_ value: Int, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(Array(name.prefix(100)), at: 0)
        put(octal(Int(mode & 0o7777), width: 8), at: 100)
        put(octal(0, width: 8), at: 108)       // uid; ownership is set by chown afterwards
        put(octal(0, width: 8), at: 116)       // gid
        put(octal(size, width: 12), at: 124)
        put(octal(0, width: 12), at: 136)      // mtime
        put([UInt8](repeating: 0x20, count: 8), at: 148)  // checksum counts as spaces
        header[156] = type
        put(Array("ustar".utf8) + [0] + Array("00".utf8), at: 257)
        let sum = header.reduce(0) { $0 + Int($1) }
        put(octal(sum, width: 7) + [0x20], at: 148)
        bytes.append(contentsOf: header)
    }

    private mutating func appendPadded(_ data: [UInt8]) {
        bytes.append(contentsOf: data)
        let rest = data.count % 512
        if rest != 0 { bytes.append(contentsOf: [UInt8](repeating: 0, count: 512 - rest)) }
    }
}
