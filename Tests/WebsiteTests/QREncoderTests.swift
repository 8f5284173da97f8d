import Foundation
import Testing
import TestSupport
@testable import Website

/// Our QR encoder, read back by a real decoder (zbarimg): every version it
/// makes, at both ends of each version's capacity.
@Suite struct QREncoderTests {
    /// Byte capacity of versions 1...20 at level M.
    static let capacities = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213,
                             251, 287, 331, 362, 412, 450, 504, 560, 624, 666]

    @Test func everyVersionDecodesAtItsLimits() throws {
        let dir = try scratchDir("qr")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:/.?=&_-")
        for (i, capacity) in Self.capacities.enumerated() {
            for length in Set([capacity, i == 0 ? 1 : Self.capacities[i - 1] + 1]) {
                let text = String((0..<length).map { alphabet[($0 * 7 + length) % alphabet.count] })
                let code = try QRCode.encode(text)
                #expect(code.size == 17 + 4 * (i + 1), "\(length) bytes: version \((code.size - 17) / 4), want \(i + 1)")
                let path = dir + "/v\(i + 1)-\(length).png"
                try Data(code.png(scale: 4)).write(to: URL(fileURLWithPath: path))
                #expect(try decodeQR(path) == text, "\(length) bytes")
            }
        }
    }

    @Test func tooLongIsRefusedAndEncodingIsDeterministic() throws {
        #expect(throws: QRCode.EncodingError.self) { try QRCode.encode(String(repeating: "a", count: 667)) }
        let a = try QRCode.encode("DCACCOUNT:https://chat.example.org/new")
        let b = try QRCode.encode("DCACCOUNT:https://chat.example.org/new")
        #expect(a == b && a.size == 29)
    }

    /// Reed-Solomon over GF(256): the codewords of the standard's worked
    /// example ("01234567" at version 1-M, ISO/IEC 18004 annex I).
    @Test func reedSolomonMatchesTheStandardsExample() {
        let data: [UInt8] = [0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11]
        let ec = QRReedSolomon.remainder(data, generator: QRReedSolomon.generator(degree: 10))
        #expect(ec == [0xA5, 0x24, 0xD4, 0xC1, 0xED, 0x36, 0xC7, 0x87, 0x2C, 0x55])
        // "HELLO WORLD" at 1-M (alphanumeric), the usual tutorial example
        let hello: [UInt8] = [32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17]
        #expect(QRReedSolomon.remainder(hello, generator: QRReedSolomon.generator(degree: 10))
            == [196, 35, 39, 119, 235, 215, 231, 226, 93, 23])
    }
}
