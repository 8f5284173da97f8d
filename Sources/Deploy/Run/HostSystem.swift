import Foundation
import Remote

/// The operating system of the host, from its `/etc/os-release`: read
/// first, before anything is installed or changed, because what a deploy
/// installs depends on the release (Dovecot builds, package names).
public struct HostSystem: Sendable, Equatable {
    /// `ID`, e.g. "debian", "ubuntu".
    public var id: String
    /// `VERSION_ID`, e.g. "12"; empty on Debian testing/unstable.
    public var versionID: String
    /// `PRETTY_NAME`, for messages.
    public var prettyName: String
    /// The host's glibc (`getconf GNU_LIBC_VERSION`); nil when unknown.
    public var glibc: ELFVersions.Version?

    public init(id: String, versionID: String, prettyName: String, glibc: ELFVersions.Version? = nil) {
        self.id = id
        self.versionID = versionID
        self.prettyName = prettyName
        self.glibc = glibc
    }

    /// The Debian releases a relay can be deployed to, by `VERSION_ID`.
    public static let supported: [(versionID: String, name: String)] = [
        ("12", "Debian 12 (bookworm)"),
        ("13", "Debian 13 (trixie)"),
    ]

    public static var supportedText: String {
        supported.map(\.name).joined(separator: " and ")
    }

    /// The Debian release ("12", "13") when the system is supported.
    public var debianRelease: String? {
        guard id == "debian", Self.supported.contains(where: { $0.versionID == versionID }) else { return nil }
        return versionID
    }

    /// Parses os-release text (shell-style assignments, values possibly quoted).
    public static func parse(_ text: String) -> HostSystem {
        var values: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            guard let eq = line.firstIndex(of: "="), !line.hasPrefix("#") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
                value = String(value.dropFirst().dropLast())
                    .replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")
            }
            values[key] = value
        }
        return HostSystem(id: values["ID"] ?? "", versionID: values["VERSION_ID"] ?? "",
                          prettyName: values["PRETTY_NAME"] ?? values["NAME"] ?? "",
                          glibc: values[glibcKey].flatMap { ELFVersions.Version(parsing: $0) })
    }

    /// The line the read adds to os-release's: `getconf GNU_LIBC_VERSION`.
    static let glibcKey = "CMDEPLOY_GLIBC"

    /// What the host runs; an unreadable os-release gives an empty system,
    /// which `requireSupported` refuses.
    public static func read(on host: any Remote.Host) throws -> HostSystem {
        let result = try host.run("""
            cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release; echo;             echo "\(glibcKey)=$(getconf GNU_LIBC_VERSION 2>/dev/null)"
            """, timeout: 30)
        return parse(result.stdoutText)
    }

    /// Refuses a binary that needs a newer glibc than the host has: it would
    /// not start there. `what` names it ("chatmaild /path").
    public func checkGlibc(of binary: LocalFile, hostName: String) throws {
        guard let need = ELFVersions.requiredGlibc(binary.content), let have = glibc, need > have else { return }
        throw DeployFailure("""
            \(binary.path) needs glibc \(need) (it was built on a newer system), but \(hostName) has glibc \(have) \
            (\(prettyName.isEmpty ? "its system" : prettyName)): it would not start there. Build chatmaild on the oldest \
            Debian release you deploy to, e.g. with scripts/build-chatmaild on Debian 12 (glibc 2.36), and pass it \
            with --chatmaild-binary. Nothing was changed on the host.
            """)
    }

    /// The Debian release, or an error naming what was found and what is supported.
    public func requireSupported(hostName: String) throws -> String {
        if let release = debianRelease { return release }
        let found: String
        if id.isEmpty && prettyName.isEmpty {
            found = "a system without a readable /etc/os-release"
        } else {
            let detail = [id, versionID].filter { !$0.isEmpty }.joined(separator: " ")
            found = prettyName.isEmpty ? detail : "\(prettyName) (\(detail))"
        }
        throw DeployFailure("""
            \(hostName) runs \(found); cmdeploy deploys relays to \(Self.supportedText) only. \
            Nothing was changed on the host.
            """)
    }
}
