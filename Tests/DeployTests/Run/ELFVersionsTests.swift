import Foundation
import Testing
import TestSupport
@testable import Deploy

/// The glibc a binary needs, read the way the dynamic linker reads it, and
/// the deploy's refusal of a binary the host's glibc cannot run.
@Suite struct ELFVersionsTests {
    func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try #require(FileManager.default.contents(atPath: path), "\(path) is missing"))
    }

    /// A real binary of this machine: the same version binutils reads.
    @Test func readsWhatObjdumpReads() throws {
        let path = "/usr/bin/true"
        let got = try #require(ELFVersions.requiredGlibc(try bytes(path)))
        let objdump = try shell("objdump -T \(path) | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1")
        try #require(objdump.status == 0, "objdump (binutils) failed: \(objdump.output)")
        #expect("GLIBC_\(got)" == objdump.output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// A copy whose GLIBC_2.x need is rewritten to GLIBC_2.99: the parser
    /// reports 2.99, and this machine's dynamic linker refuses to start it,
    /// so the check reads exactly what the loader checks.
    @Test func aNewerNeedIsSeenAndTheLoaderAgrees() throws {
        var b = try bytes("/usr/bin/true")
        let have = try #require(ELFVersions.requiredGlibc(b))
        let old = Array("GLIBC_\(have)\0".utf8), new = Array("GLIBC_2.99\0".utf8)
        try #require(old.count == new.count, "GLIBC_\(have) is not 4 characters of version")
        let at = try #require((0...(b.count - old.count)).first { Array(b[$0..<$0 + old.count]) == old })
        b.replaceSubrange(at..<at + new.count, with: new)
        #expect(ELFVersions.requiredGlibc(b) == ELFVersions.Version(2, 99))
        let dir = try scratchDir("elf")
        let copy = dir + "/true-2.99"
        FileManager.default.createFile(atPath: copy, contents: Data(b), attributes: [.posixPermissions: 0o755])
        let run = try shell("'\(copy)'")
        #expect(run.status != 0 && run.output.contains("GLIBC_2.99"), "\(run.output)")

        let system = HostSystem(id: "debian", versionID: "12", prettyName: "Debian GNU/Linux 12 (bookworm)",
                                glibc: ELFVersions.Version(2, 36))
        let e = #expect(throws: DeployFailure.self) {
            try system.checkGlibc(of: LocalFile(path: "chatmaild", content: b), hostName: "relay.example.org")
        }
        #expect(e?.message.contains("chatmaild needs glibc 2.99") == true)
        #expect(e?.message.contains("relay.example.org has glibc 2.36 (Debian GNU/Linux 12 (bookworm))") == true)
        try system.checkGlibc(of: LocalFile(path: "true", content: try bytes("/usr/bin/true")), hostName: "h")
    }

    @Test func notELFOrStaticGivesNothing() throws {
        #expect(ELFVersions.requiredGlibc(Array("#!/bin/sh\necho hi\n".utf8)) == nil)
        #expect(ELFVersions.requiredGlibc([]) == nil)
        var truncated = try bytes("/usr/bin/true")
        truncated.removeLast(truncated.count / 2)
        _ = ELFVersions.requiredGlibc(truncated)   // no crash on a cut file
        #expect(HostSystem.parse("ID=debian\nCMDEPLOY_GLIBC=glibc 2.41\n").glibc == ELFVersions.Version(2, 41))
    }
}
