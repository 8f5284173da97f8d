import Foundation
import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

/// The base components' files, folders and removals applied for real by the
/// engine through LocalHost, re-rooted into a temporary folder (services,
/// packages, users and host-wide commands are left out: they would act on
/// this machine). Staged validation runs the real unbound-checkconf.
@Suite struct ComponentsLocalApplyTests {
    static let mine: [any Component] = [Base(), LegacyRemove(), Journald(), Unbound(), Chatmaild(), Mtasts(), Mtail(), Version()]

    func rerooted(_ context: DeployContext, under root: String) throws -> Manifest {
        var out: [Resource] = []
        let owner = { (o: String) in o == "vmail" ? "nobody" : o }
        let group = { (g: String) in g == "vmail" ? "nogroup" : g }
        for component in Self.mine {
            for r in try component.manifest(context).resources {
                switch r {
                case .file(var f):
                    f.path = root + f.path
                    f.owner = owner(f.owner)
                    f.group = group(f.group)
                    out.append(.file(f))
                case .directory(var d):
                    d.path = root + d.path
                    d.owner = owner(d.owner)
                    d.group = group(d.group)
                    out.append(.directory(d))
                case .absent(var a):
                    a.path = root + a.path
                    out.append(.absent(a))
                default:
                    break
                }
            }
        }
        return Manifest(resources: out)
    }

    @Test func firstRunInstallsSecondRunIsOneRoundTrip() throws {
        let root = try scratchDir("apply")
        defer { try? FileManager.default.removeItem(atPath: root) }
        // A Python-era leftover, and resolv.conf as systemd-resolved's link.
        try FileManager.default.createDirectory(atPath: "\(root)/usr/local/lib/chatmaild/venv/bin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(root)/etc", withIntermediateDirectories: true)
        #expect(symlink("../run/systemd/resolve/stub-resolv.conf", "\(root)/etc/resolv.conf") == 0)

        let context = try componentContext(["dns_forwarders = 10.77.0.1", "dns_unsigned_zones = test"])
        let manifest = try rerooted(context, under: root)
        let first = try Engine(host: LocalHost(), desired: try DesiredState([("base", manifest)])).run(dryRun: false)
        #expect(first.applied)
        #expect(!FileManager.default.fileExists(atPath: "\(root)/usr/local/lib/chatmaild/venv"))
        let resolv = try FileManager.default.attributesOfItem(atPath: "\(root)/etc/resolv.conf")
        #expect(resolv[.type] as? FileAttributeType == .typeRegular, "the symlink is replaced by a file")
        #expect(try String(contentsOfFile: "\(root)/etc/resolv.conf", encoding: .utf8) == "nameserver 127.0.0.1\nnameserver 10.77.0.1\n")
        #expect(FileManager.default.isExecutableFile(atPath: "\(root)/usr/local/bin/chatmaild"))
        #expect(try String(contentsOfFile: "\(root)/etc/unbound/unbound.conf.d/chatmail.conf", encoding: .utf8).contains("forward-addr: 10.77.0.1"))
        let mailboxes = try FileManager.default.attributesOfItem(atPath: "\(root)/home/vmail/mail/chat.example.org")
        #expect(mailboxes[.posixPermissions] as? Int == 0o700)

        let again = try Engine(host: LocalHost(), desired: try DesiredState([("base", manifest)])).run(dryRun: false)
        #expect(again.plan.isEmpty, "\(again.plan.changes.map(\.subject))")
        #expect(again.roundTrips == 1)
    }

    /// A config unbound rejects never replaces the live one.
    @Test func invalidUnboundConfigIsRefusedBeforeItGoesLive() throws {
        let root = try scratchDir("apply-bad")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = "\(root)/chatmail.conf"
        try "server:\n".write(toFile: path, atomically: true, encoding: .utf8)
        let bad = Manifest { File(path, text: "server:\n    do-ip6: perhaps\n", validate: Unbound.validate) }
        do {
            _ = try Engine(host: LocalHost(), desired: try DesiredState([("unbound", bad)])).run(dryRun: false)
            Issue.record("the broken config was applied")
        } catch {
            #expect("\(error)".contains("rejected by its validation") && "\(error)".contains("expected yes or no"), "unbound's complaint reaches the operator: \(error)")
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "server:\n")
    }
}
