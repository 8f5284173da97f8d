import CBuildInfo
import ChatmailConfig
import Foundation
import Engine
import Support
import Website

public struct DeployFailure: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Everything `cmdeploy run` does before and around the engine: checks that
/// need no host, the inputs read on this machine, and the component list.
public enum Deployment {
    /// The checks the Python deploy makes before touching the host.
    public static func preflight(_ config: ChatmailConfig) throws {
        if let problem = config.privacyContactsProblem() { throw DeployFailure(problem.description) }
    }

    /// The chatmaild binary: the option, `$CMDEPLOY_CHATMAILD_BINARY`, or the
    /// `chatmaild` next to the running cmdeploy (a release build puts both in
    /// one folder).
    public static func locateChatmaild(_ explicit: String?) throws -> LocalFile {
        let env = ProcessInfo.processInfo.environment["CMDEPLOY_CHATMAILD_BINARY"].flatMap { $0.isEmpty ? nil : $0 }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("chatmaild").path
        let path = explicit ?? env ?? beside
        guard let data = FileManager.default.contents(atPath: path) else {
            let how = explicit != nil ? "--chatmaild-binary" : (env != nil ? "$CMDEPLOY_CHATMAILD_BINARY" : "the folder of cmdeploy")
            throw DeployFailure("""
                chatmaild binary not found at \(path) (from \(how)).
                Build it with `swift build -c release --static-swift-stdlib` (scripts/initenv.sh does), \
                or point --chatmaild-binary at a Linux build for the relay's architecture.
                """)
        }
        return LocalFile(path: path, content: Array(data))
    }

    /// OpenDKIM's libunbound config lock (needed with dns_forwarders): the
    /// library appended to a release chatmaild (`scripts/build-chatmaild`,
    /// so the release folder is two files), else the one built beside
    /// `chatmaild`; nil when there is none.
    public static func locateUnboundConfigLock(beside chatmaild: LocalFile) -> LocalFile? {
        if let appended = appendedPayload(chatmaild.content) {
            return LocalFile(path: chatmaild.path + " (appended " + OpenDKIM.configLockName + ")", content: appended)
        }
        let path = URL(fileURLWithPath: chatmaild.path).deletingLastPathComponent()
            .appendingPathComponent(OpenDKIM.configLockName).path
        return FileManager.default.contents(atPath: path).map { LocalFile(path: path, content: Array($0)) }
    }

    /// The trailer `scripts/build-chatmaild` appends after chatmaild's ELF
    /// image (the loader ignores bytes past its segments): the library, its
    /// length as 8 bytes little-endian, then this 16-byte mark.
    public static let payloadMark = Array("cmdeploy:ublock1".utf8)

    /// The ELF library appended to `binary` (for the same machine), or nil.
    public static func appendedPayload(_ binary: [UInt8]) -> [UInt8]? {
        let trailer = payloadMark.count + 8
        guard binary.count > trailer, Array(binary.suffix(payloadMark.count)) == payloadMark else { return nil }
        let lengthStart = binary.count - trailer
        var length = 0
        for i in (0..<8).reversed() { length = length << 8 | Int(binary[lengthStart + i]) }
        guard length > 4, length <= lengthStart else { return nil }
        let payload = Array(binary[(lengthStart - length)..<lengthStart])
        guard let arch = elfArchitecture(payload), arch == elfArchitecture(binary) else { return nil }
        return payload
    }

    /// The ELF machine of a binary, as `uname -m` names it; nil when unknown.
    public static func elfArchitecture(_ bytes: [UInt8]) -> String? {
        guard bytes.count > 20, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else { return nil }
        let machine = UInt16(bytes[18]) | UInt16(bytes[19]) << 8
        switch machine {
        case 0x3E: return "x86_64"
        case 0xB7: return "aarch64"
        case 0x28: return "armv7l"
        case 0xF3: return "riscv64"
        default: return "machine \(machine)"
        }
    }

    /// Refuses a chatmaild built for another architecture than the host's.
    public static func checkArchitecture(_ binary: LocalFile, hostArch: String, hostName: String) throws {
        guard let arch = elfArchitecture(binary.content) else {
            throw DeployFailure("\(binary.path) is not a Linux executable (no ELF header); build chatmaild for Linux")
        }
        if arch != hostArch {
            throw DeployFailure("""
                \(binary.path) is built for \(arch), but \(hostName) is \(hostArch).
                Build chatmaild on a \(hostArch) machine with the oldest Debian release you deploy to \
                (scripts/build-chatmaild; there are no prebuilt downloads), and pass it with --chatmaild-binary.
                """)
        }
    }

    /// mtail_address must be a loopback name or one of the host's IPv4
    /// addresses, as the Python deploy demands too, else mtail cannot bind and
    /// the deploy would leave a failed unit behind.
    public static func checkMtailAddress(_ config: ChatmailConfig, hostAddresses: [String], hostName: String) throws {
        guard let address = config.mtailAddress,
              !["127.0.0.1", "::1", "localhost"].contains(address),
              !hostAddresses.contains(address) else { return }
        let known = hostAddresses.isEmpty ? "none found" : hostAddresses.joined(separator: ", ")
        throw DeployFailure("mtail_address \(address) in \(config.path) is not available on \(hostName) (VPN up?); its IPv4 addresses: \(known)")
    }

    /// The web pages to publish, built on this machine.
    public static func buildWebsite(_ config: ChatmailConfig) throws -> [String: [UInt8]]? {
        let location = try WebsiteLocation.resolve(config: config)
        let dir: String
        switch location {
        case .disabled:
            return nil
        case .embedded:
            return try WebsiteBuilder.render(config: config, sources: WebsiteBuilder.embeddedSources,
                                             origin: WebsiteBuilder.embeddedOrigin)
        case .uploadAsIs(let d):
            dir = d
        case .build(let source, let output):
            _ = try WebsiteBuilder.build(config: config, sourceDir: source, outputDir: output)
            dir = output
        }
        var files: [String: [UInt8]] = [:]
        let root = URL(fileURLWithPath: dir).standardizedFileURL.path
        if let walker = FileManager.default.enumerator(atPath: root) {
            for case let rel as String in walker {
                var isDir: ObjCBool = false
                let full = root + "/" + rel
                if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue,
                   let data = FileManager.default.contents(atPath: full) {
                    files[rel] = Array(data)
                }
            }
        }
        return files
    }

    /// `git rev-parse HEAD` and `git diff` of the checkout cmdeploy was built
    /// in, as the Python tool records them. Baked in at build time by
    /// scripts/stamp-revision (so a copied binary knows it too); a build
    /// without it asks git at run time, `unknown` outside a checkout.
    public static func versionStamp() -> String {
        let baked = String(cString: cmdeploy_version_stamp_b64())
        if !baked.isEmpty, let bytes = Base64.decode(baked), !bytes.isEmpty {
            return String(decoding: bytes, as: UTF8.self)
        }
        return versionStampFromGit()
    }

    /// The commit of the build, for `cmdeploy --version` ("0123456789ab",
    /// "-dirty" with uncommitted changes, "unknown").
    public static var buildRevision: String {
        let lines = versionStamp().split(separator: "\n")
        guard let head = lines.first, head.count >= 12, head != "unknown" else { return "unknown" }
        return String(head.prefix(12)) + (lines.count > 1 ? "-dirty" : "")
    }

    static func versionStampFromGit() -> String {
        let repo = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0]))
            .resolvingSymlinksInPath().deletingLastPathComponent().path
        func git(_ args: [String]) -> String? {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            // The checkout cmdeploy was built in, not the operator's working
            // directory (which may be another repository or none).
            p.arguments = ["git", "-C", repo] + args
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            do { try p.run() } catch { return nil }
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return p.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
        }
        guard let head = git(["rev-parse", "HEAD"]) else { return "unknown\n" }
        return head + (git(["diff"]) ?? "")
    }
}
