import Foundation
import Testing
import TestSupport
@testable import Deploy

/// The release chatmaild carries OpenDKIM's libub-config-lock.so behind a
/// trailer (scripts/release writes it): library, its length as 8 bytes
/// little-endian, "cmdeploy:ublock1". cmdeploy takes the library from there.
@Suite struct AppendedPayloadTests {
    func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try #require(FileManager.default.contents(atPath: path), "\(path) is missing"))
    }

    func appending(_ payload: [UInt8], to binary: [UInt8], length: Int? = nil, mark: [UInt8] = Deployment.payloadMark) -> [UInt8] {
        var n = UInt64(length ?? payload.count)
        var le: [UInt8] = []
        for _ in 0..<8 { le.append(UInt8(n & 0xFF)); n >>= 8 }
        return binary + payload + le + mark
    }

    /// A real program with a real library appended still runs (the loader
    /// ignores bytes past the image), and the library comes back byte-exact.
    @Test func theLibraryComesBackAndTheProgramStillRuns() throws {
        let program = try bytes("/usr/bin/true")
        let library = try bytes("/lib/x86_64-linux-gnu/libz.so.1")
        let combined = appending(library, to: program)
        #expect(Deployment.appendedPayload(combined) == library)

        let dir = try scratchDir("payload")
        let path = dir + "/chatmaild"
        try Data(combined).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        #expect(try shell(path).status == 0)

        let found = try #require(Deployment.locateUnboundConfigLock(beside: LocalFile(path: path, content: combined)))
        #expect(found.content == library && found.path.contains("appended"))
    }

    @Test func anythingElseIsNoPayload() throws {
        let program = try bytes("/usr/bin/true")
        let library = try bytes("/lib/x86_64-linux-gnu/libz.so.1")
        #expect(Deployment.appendedPayload(program) == nil)
        #expect(Deployment.appendedPayload(appending(library, to: program, mark: Array("cmdeploy:ublock2".utf8))) == nil)
        #expect(Deployment.appendedPayload(appending(library, to: program, length: program.count * 10)) == nil)
        #expect(Deployment.appendedPayload(appending(library, to: program, length: 0)) == nil)
        // Not an ELF library, or one for another machine than the program.
        #expect(Deployment.appendedPayload(appending(Array(repeating: 7, count: 64), to: program)) == nil)
        var arm = library
        arm[18] = 0xB7; arm[19] = 0
        #expect(Deployment.appendedPayload(appending(arm, to: program)) == nil)
        #expect(Deployment.appendedPayload(Array(Deployment.payloadMark)) == nil)
    }
}
