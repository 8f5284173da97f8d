/// The newest glibc symbol version an ELF file needs, read from its
/// `.gnu.version_r` section (the GLIBC_x.y entries the dynamic linker checks
/// at start). A chatmaild built on a newer system than the relay's does not
/// start there ("version `GLIBC_2.38' not found"); the deploy compares this
/// with the host's glibc before it uploads anything.
public enum ELFVersions {
    public struct Version: Comparable, Sendable, CustomStringConvertible {
        public var major: Int
        public var minor: Int
        public init(_ major: Int, _ minor: Int) { self.major = major; self.minor = minor }
        public static func < (a: Version, b: Version) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
        public var description: String { "\(major).\(minor)" }

        /// "2.36", "glibc 2.36", "GLIBC_2.3.4" (only major.minor count).
        public init?(parsing text: some StringProtocol) {
            let digits = text.drop { !$0.isNumber }
            let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count >= 2, let major = Int(parts[0]),
                  let minor = Int(parts[1].prefix { $0.isNumber }) else { return nil }
            self.init(major, minor)
        }
    }

    /// The highest GLIBC_x.y the file requires; nil for a static binary, a
    /// file without version needs, or bytes that are no valid ELF.
    public static func requiredGlibc(_ bytes: [UInt8]) -> Version? {
        guard bytes.count >= 52, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46,
              bytes[5] == 1 /* little-endian */ else { return nil }
        let is64 = bytes[4] == 2
        func u16(_ o: Int) -> Int? { o >= 0 && o + 2 <= bytes.count ? Int(bytes[o]) | Int(bytes[o + 1]) << 8 : nil }
        func u32(_ o: Int) -> Int? {
            guard o >= 0, o + 4 <= bytes.count else { return nil }
            return (0..<4).reduce(0) { $0 | Int(bytes[o + $1]) << (8 * $1) }
        }
        func u64(_ o: Int) -> Int? {
            guard o >= 0, o + 8 <= bytes.count else { return nil }
            let v = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[o + $1]) << (8 * UInt64($1)) }
            return v <= UInt64(Int.max) ? Int(v) : nil
        }
        func word(_ o: Int) -> Int? { is64 ? u64(o) : u32(o) }
        guard let shoff = word(is64 ? 0x28 : 0x20), let shentsize = u16(is64 ? 0x3A : 0x2E),
              let shnum = u16(is64 ? 0x3C : 0x30), shentsize >= (is64 ? 64 : 40), shnum < 10_000 else { return nil }
        struct Section { var type: Int, offset: Int, size: Int, link: Int, info: Int }
        func section(_ i: Int) -> Section? {
            let h = shoff + i * shentsize
            if is64 {
                guard let t = u32(h + 4), let o = u64(h + 24), let s = u64(h + 32), let l = u32(h + 40), let n = u32(h + 44)
                else { return nil }
                return Section(type: t, offset: o, size: s, link: l, info: n)
            }
            guard let t = u32(h + 4), let o = u32(h + 16), let s = u32(h + 20), let l = u32(h + 24), let n = u32(h + 28)
            else { return nil }
            return Section(type: t, offset: o, size: s, link: l, info: n)
        }
        let sections = (0..<shnum).compactMap(section)
        guard sections.count == shnum,
              let verneed = sections.first(where: { $0.type == 0x6FFF_FFFE }),   // SHT_GNU_verneed
              verneed.link < sections.count else { return nil }
        let strtab = sections[verneed.link]
        func string(_ offset: Int) -> String? {
            let start = strtab.offset + offset
            guard offset >= 0, offset < strtab.size, start < bytes.count else { return nil }
            let end = bytes[start..<min(bytes.count, strtab.offset + strtab.size)].firstIndex(of: 0) ?? start
            return String(decoding: bytes[start..<end], as: UTF8.self)
        }
        var best: Version?
        var entry = verneed.offset
        // vn_cnt/vn_aux/vn_next and vna_name/vna_next: 16-byte records in both classes
        for _ in 0..<min(verneed.info, 1000) {
            guard let count = u16(entry + 2), let auxOffset = u32(entry + 8), let next = u32(entry + 12) else { break }
            var aux = entry + auxOffset
            for _ in 0..<min(count, 1000) {
                guard let name = u32(aux + 8), let auxNext = u32(aux + 12) else { break }
                if let s = string(name), s.hasPrefix("GLIBC_"), let v = Version(parsing: s.dropFirst(6)) {
                    best = max(best ?? v, v)
                }
                if auxNext == 0 { break }
                aux += auxNext
            }
            if next == 0 { break }
            entry += next
        }
        return best
    }
}
