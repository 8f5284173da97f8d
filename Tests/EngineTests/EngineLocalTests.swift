import Foundation
import Testing
import TestSupport
@testable import Engine
@testable import Remote
import Support

/// The engine against this machine through LocalHost, on paths inside a
/// fresh temporary directory: the same scripts a relay gets, run for real.
@Suite final class EngineLocalTests {
    let root: String

    init() throws {
        root = "/tmp/cmdeploy-engine-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func engine(_ manifest: Manifest) throws -> Engine {
        Engine(host: LocalHost(), desired: try DesiredState([("test", manifest)]))
    }

    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int) ?? -1
    }

    /// An unmet requirement refuses the run after the probe: nothing is
    /// changed, every refusal is named, dry runs included; once met, the run
    /// goes ahead and the requirement itself changes nothing.
    @Test func unmetRequirementsRefuseBeforeAnyChange() throws {
        let r = root
        let manifest = Manifest {
            File("\(r)/etc/app.conf", text: "a = 1\n")
            GuardedCommand.requirement("cert", check: "test -r \(r)/cert.pem", refusal: "no \(r)/cert.pem")
            GuardedCommand.requirement("key", check: "test -r \(r)/key.pem", refusal: "no \(r)/key.pem")
        }
        for dryRun in [true, false] {
            #expect {
                try self.engine(manifest).run(dryRun: dryRun)
            } throws: { error in
                "\(error)" == "no \(r)/cert.pem\nno \(r)/key.pem\nNothing was changed on \(LocalHost().name)."
            }
        }
        #expect(read("\(r)/etc/app.conf") == nil)
        FileManager.default.createFile(atPath: "\(r)/cert.pem", contents: Data())
        FileManager.default.createFile(atPath: "\(r)/key.pem", contents: Data())
        let summary = try engine(manifest).run(dryRun: false)
        #expect(summary.plan.changes.map(\.subject) == ["file \(r)/etc/app.conf"])
        #expect(read("\(r)/etc/app.conf") == "a = 1\n")
    }

    @Test func firstRunAppliesSecondRunIsANoOp() throws {
        let r = root
        let manifest = Manifest {
            Directory("\(r)/etc/app", mode: 0o750)
            File("\(r)/etc/app/main.conf", text: "a = 1\n")
            File("\(r)/etc/app/secret.key", text: "KEY\n", mode: 0o600, secret: true)
            File("\(r)/etc/app/owned.conf", text: "x\n", owner: "nobody", group: "nogroup")
            LineInFile("\(r)/etc/hosts.extra", line: "127.0.0.2 relay.test")
            Absent("\(r)/old-stuff")
            GuardedCommand("make marker", "touch \(r)/marker", unless: "test -e \(r)/marker")
            Package("coreutils")
        }
        try FileManager.default.createDirectory(atPath: "\(r)/old-stuff/sub", withIntermediateDirectories: true)

        let first = try engine(manifest)
        let summary = try first.run(dryRun: false)
        #expect(summary.applied)
        #expect(summary.roundTrips == 3, "probe, one apply batch, verify probe")
        #expect(summary.plan.changes.map(\.subject).contains("path \(r)/old-stuff"))
        #expect(!summary.plan.changes.contains { $0.subject == "package coreutils" })
        #expect(read("\(r)/etc/app/main.conf") == "a = 1\n")
        #expect(mode("\(r)/etc/app") == 0o750)
        #expect(mode("\(r)/etc/app/secret.key") == 0o600)
        #expect(read("\(r)/etc/hosts.extra") == "127.0.0.2 relay.test\n")
        #expect(!FileManager.default.fileExists(atPath: "\(r)/old-stuff"))
        #expect(FileManager.default.fileExists(atPath: "\(r)/marker"))
        let owner = try FileManager.default.attributesOfItem(atPath: "\(r)/etc/app/owned.conf")[.ownerAccountName] as? String
        #expect(owner == "nobody")

        let second = try engine(manifest)
        let again = try second.run(dryRun: false)
        #expect(again.plan.isEmpty)
        #expect(!again.applied)
        #expect(again.roundTrips == 1, "a no-op run is one probe")
    }

    @Test func changedContentAndModeAreReported() throws {
        let r = root
        try "old\n".write(toFile: "\(r)/f.conf", atomically: true, encoding: .utf8)
        chmod("\(r)/f.conf", 0o644)
        let e = try engine(Manifest { File("\(r)/f.conf", text: "new\n", mode: 0o640) })
        let (plan, probe) = try e.plan(withContent: true)
        #expect(plan.changes.count == 1)
        #expect(plan.changes[0].action == .update)
        #expect(plan.changes[0].detail == "content, mode 644→640")
        let text = PlanPrinter.text(plan, desired: e.desired, probe: probe, diff: true)
        #expect(text.contains("~ file \(r)/f.conf (content, mode 644→640)"))
        #expect(text.contains("-old"))
        #expect(text.contains("+new"))
    }

    @Test func attributeOnlyChangeKeepsContentAndInode() throws {
        let r = root
        try "same\n".write(toFile: "\(r)/g.conf", atomically: true, encoding: .utf8)
        chmod("\(r)/g.conf", 0o600)
        let e = try engine(Manifest { File("\(r)/g.conf", text: "same\n", mode: 0o644) })
        let summary = try e.run(dryRun: false)
        #expect(summary.plan.changes.map(\.detail) == ["mode 600→644"])
        #expect(summary.plan.changes[0].contentChanged == false)
        #expect(mode("\(r)/g.conf") == 0o644)
    }

    @Test func dryRunChangesNothing() throws {
        let r = root
        let e = try engine(Manifest { File("\(r)/dry.conf", text: "x\n"); Directory("\(r)/drydir") })
        let summary = try e.run(dryRun: true)
        #expect(summary.plan.changes.count == 2)
        #expect(!FileManager.default.fileExists(atPath: "\(r)/dry.conf"))
        #expect(!FileManager.default.fileExists(atPath: "\(r)/drydir"))
    }

    @Test func failedValidationLeavesEveryLiveFileAlone() throws {
        let r = root
        try FileManager.default.createDirectory(atPath: "\(r)/etc", withIntermediateDirectories: true)
        try "good = 1\n".write(toFile: "\(r)/etc/main.cf", atomically: true, encoding: .utf8)
        try "other = 1\n".write(toFile: "\(r)/etc/other.cf", atomically: true, encoding: .utf8)
        // The validator needs a sibling file from the staged directory, like `postfix -c DIR check`.
        let validator = "test -f {dir}/other.cf && grep -q '^good' {file} || { echo 'syntax error in main.cf line 1' >&2; exit 1; }"
        let e = try engine(Manifest {
            File("\(r)/etc/other.cf", text: "other = 2\n")
            File("\(r)/etc/main.cf", text: "broken\n", validate: validator)
        })
        #expect {
            try e.run(dryRun: false)
        } throws: { error in
            guard let apply = error as? ApplyError else { return false }
            return apply.kind == "validate" && apply.subject == "\(r)/etc/main.cf"
                && apply.description.contains("syntax error in main.cf line 1")
                && apply.description.contains("the previous file is still in place")
        }
        #expect(read("\(r)/etc/main.cf") == "good = 1\n")
        #expect(read("\(r)/etc/other.cf") == "other = 1\n", "nothing moves into place when any validation fails")

        // Fixed config: the next run picks up where this one stopped.
        let fixed = try engine(Manifest {
            File("\(r)/etc/other.cf", text: "other = 2\n")
            File("\(r)/etc/main.cf", text: "good = 2\n", validate: validator)
        })
        let summary = try fixed.run(dryRun: false)
        #expect(summary.applied)
        #expect(read("\(r)/etc/main.cf") == "good = 2\n")
        #expect(read("\(r)/etc/other.cf") == "other = 2\n")
    }

    /// `postfix check` says nothing on stderr (it logs to syslog): the error
    /// must still say that the validator failed and how.
    @Test func silentValidatorFailureNamesItsExitStatus() throws {
        let r = root
        let e = try engine(Manifest {
            File("\(r)/etc/main.cf", text: "broken\n", validate: "exit 4")
        })
        #expect {
            try e.run(dryRun: false)
        } throws: { error in
            guard let apply = error as? ApplyError else { return false }
            return apply.kind == "validate" && apply.description.contains("(validation exited with status 4)")
        }
        #expect(read("\(r)/etc/main.cf") == nil)
    }

    @Test func failingCommandIsReportedWithItsOutput() throws {
        let r = root
        let e = try engine(Manifest {
            GuardedCommand("generate key", "echo 'opendkim-genkey: cannot write' >&2; exit 3", unless: "test -e \(r)/nokey")
        })
        #expect {
            try e.run(dryRun: false)
        } throws: { error in
            "\(error)".contains("command generate key failed") && "\(error)".contains("opendkim-genkey: cannot write")
        }
    }

    /// A download tries its URL, then each mirror, until one serves the
    /// pinned bytes; when none does, the error keeps what each one answered.
    @Test func downloadsFallBackToMirrorsAndCheckEachOne() throws {
        let r = root
        try "wrong\n".write(toFile: "\(r)/wrong.bin", atomically: true, encoding: .utf8)
        try "right\n".write(toFile: "\(r)/right.bin", atomically: true, encoding: .utf8)
        let right = try shell("sha256sum < \(r)/right.bin | cut -c1-64").output.trimmingCharacters(in: .whitespacesAndNewlines)
        let mirrors = ["file://\(r)/wrong.bin", "file://\(r)/right.bin"]
        try engine(Manifest {
            Download("file://\(r)/missing.bin", mirrors: mirrors, sha256: right, to: "\(r)/bin/tool", mode: 0o640)
        }).run(dryRun: false)
        #expect(read("\(r)/bin/tool") == "right\n")
        #expect(mode("\(r)/bin/tool") == 0o640)

        let e = try engine(Manifest {
            Download("file://\(r)/missing.bin", mirrors: [mirrors[0]], sha256: right, to: "\(r)/bin/other")
        })
        #expect {
            try e.run(dryRun: false)
        } throws: { error in
            let text = "\(error)"
            return text.contains("file://\(r)/missing.bin: download failed")
                && text.contains("file://\(r)/wrong.bin: sha256 is ") && text.contains("expected \(right)")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(r)/bin/other"))
        #expect(!FileManager.default.fileExists(atPath: "\(r)/bin/other.cmdeploy-new"))
    }

    /// A download reports curl's meter as progress (name, bytes of the
    /// whole), and a command's `@@progress` lines on fd 3 come through too.
    @Test func downloadsAndCommandsReportProgress() throws {
        let r = root
        _ = try shell("head -c 3000000 /dev/urandom > \(r)/big.bin")
        let sum = try shell("sha256sum < \(r)/big.bin | cut -c1-64").output.trimmingCharacters(in: .whitespacesAndNewlines)
        let e = try engine(Manifest {
            Download("file://\(r)/big.bin", sha256: sum, to: "\(r)/bin/big")
            GuardedCommand("order", "printf '@@progress\\tcertificate\\t\\t%s\\n' 'order placed' >&3; touch \(r)/ordered", unless: "test -e \(r)/ordered")
        })
        var events: [(String, Int?, String)] = []
        e.onEvent = { if case .progress(let phase, let percent, let detail) = $0 { events.append((phase, percent, detail)) } }
        _ = try e.run(dryRun: false)
        #expect(events.contains { $0.0 == "downloading" && $0.1 == 100 && $0.2.hasPrefix("big: ") && $0.2.hasSuffix(" of 2929k") },
                "\(events)")
        #expect(events.contains { $0.0 == "certificate" && $0.1 == nil && $0.2 == "order placed" }, "\(events)")
    }

    /// The probe's hash cache: an unchanged file is taken from it (a cache
    /// entry with a wrong hash shows through), a file rewritten with the same
    /// size and its old mtime set back is hashed again (its ctime moved) and
    /// repaired, a dry run records nothing, and a file changed in the last
    /// 2 s is not recorded (ctime moves in clock ticks).
    @Test func theHashCacheServesOnlyUnchangedFiles() throws {
        let r = root
        let path = "\(r)/managed.conf"
        let manifest = Manifest { File(path, text: "setting = 1\n") }
        try FileManager.default.createDirectory(atPath: engineStateDir, withIntermediateDirectories: true)
        func entry() throws -> [Substring]? {
            let cache = (try? String(contentsOfFile: Probe.hashCacheFile, encoding: .utf8)) ?? ""
            return cache.split(separator: "\n").first { $0.hasPrefix(path + "\t") }?
                .split(separator: "\t", omittingEmptySubsequences: false)
        }
        _ = try engine(manifest).run(dryRun: false)
        #expect(try entry() == nil, "just written: too recent to record")
        Thread.sleep(forTimeInterval: 2.2)
        #expect(try engine(manifest).run(dryRun: true).plan.changes.isEmpty)
        #expect(try entry() == nil, "a dry run records nothing")
        #expect(try engine(manifest).run(dryRun: false).plan.changes.isEmpty)
        let fields = try #require(try entry(), "no cache entry for \(path) after a run")
        #expect(fields.count == 3 && fields[2] == sha256Hex(Array("setting = 1\n".utf8)))

        // A wrong hash under the file's current key is believed: the cache is used.
        let cache = try String(contentsOfFile: Probe.hashCacheFile, encoding: .utf8)
        try cache.replacingOccurrences(of: fields.joined(separator: "\t"),
                                       with: fields[0] + "\t" + fields[1] + "\t" + String(repeating: "0", count: 64))
            .write(toFile: Probe.hashCacheFile, atomically: false, encoding: .utf8)
        #expect(try engine(manifest).run(dryRun: true).plan.changes.contains { $0.subject == "file \(path)" })

        // Recorded again, then rewritten with the same size and the old mtime
        // restored to the nanosecond: hashed again, repaired.
        try cache.write(toFile: Probe.hashCacheFile, atomically: false, encoding: .utf8)
        #expect(try engine(manifest).run(dryRun: true).plan.changes.isEmpty)
        let mtime = try shell("stat -c %.9Y \(path)").output.trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try shell("printf 'setting = 2\\n' > \(path) && touch -m -d @\(mtime) \(path)")
        #expect(try shell("stat -c %.9Y \(path)").output.trimmingCharacters(in: .whitespacesAndNewlines) == mtime)
        #expect(try engine(manifest).run(dryRun: true).plan.changes.contains { $0.subject == "file \(path)" })
        _ = try engine(manifest).run(dryRun: false)
        #expect(read(path) == "setting = 1\n")
    }

    /// A FIFO where a file is declared is reported, never read (reading it
    /// would block the probe).
    @Test func aFifoIsNotHashed() throws {
        let path = "\(root)/pipe.conf"
        _ = try shell("mkfifo \(path)")
        let e = try engine(Manifest { File(path, text: "x\n") })
        let started = Date()
        let probe = try e.probe()
        #expect(Date().timeIntervalSince(started) < 30)
        guard case .path(let state)? = probe.observed.first else { Issue.record("no path state"); return }
        #expect(state.kind == .other && state.sha256 == nil)
    }

    @Test func commandsRunWhenTheirTriggerChanges() throws {
        let r = root
        let manifest = Manifest {
            File("\(r)/aliases", text: "root: admin\n")
            GuardedCommand("count runs", "echo run >>\(r)/runs", onChangeOf: ["\(r)/aliases"])
        }
        _ = try engine(manifest).run(dryRun: false)
        _ = try engine(manifest).run(dryRun: false)
        #expect(read("\(r)/runs") == "run\n", "ran once for the new file, not again for the unchanged one")
        let changed = Manifest {
            File("\(r)/aliases", text: "root: other\n")
            GuardedCommand("count runs", "echo run >>\(r)/runs", onChangeOf: ["\(r)/aliases"])
        }
        let summary = try engine(changed).run(dryRun: false)
        #expect(summary.plan.changes.contains { $0.subject == "run count runs" && $0.detail == "aliases changed" })
        #expect(read("\(r)/runs") == "run\nrun\n")
    }

    @Test func lineReplacingAPrefix() throws {
        let r = root
        try "a=1\nMaxRetentionSec=5\nb=2\n".write(toFile: "\(r)/journald.conf", atomically: true, encoding: .utf8)
        let manifest = Manifest { LineInFile("\(r)/journald.conf", line: "MaxRetentionSec=2d", replacing: "MaxRetentionSec=") }
        _ = try engine(manifest).run(dryRun: false)
        #expect(read("\(r)/journald.conf") == "a=1\nMaxRetentionSec=2d\nb=2\n")
        #expect(try engine(manifest).run(dryRun: false).plan.isEmpty)
    }

    @Test func conflictingPathsAreRefusedBeforeAnyChange() throws {
        let r = root
        try FileManager.default.createDirectory(atPath: "\(r)/is-a-dir", withIntermediateDirectories: true)
        let e = try engine(Manifest { File("\(r)/fine.conf", text: "x\n"); File("\(r)/is-a-dir", text: "x\n") })
        #expect {
            try e.run(dryRun: false)
        } throws: { error in
            "\(error)".contains("\(r)/is-a-dir is a directory, but test wants a file there")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(r)/fine.conf"))
    }

    @Test func missingPackageIsPlannedAsInstall() throws {
        let e = try engine(Manifest { Package("coreutils"); Package("cmdeploy-no-such-package") })
        let (plan, _) = try e.plan()
        #expect(plan.changes.map(\.subject) == ["package cmdeploy-no-such-package"])
    }

    @Test func servicesNeedSystemd() throws {
        // A host without systemd as PID 1 (this CI machine) gets a clear
        // refusal; one with systemd gets a plan. Either way something is checked.
        let e = try engine(Manifest { Service("postfix") })
        let probe = try e.probe()
        if probe.facts.hasSystemd {
            _ = try e.plan()
        } else {
            #expect(throws: PlanError.self) { try e.plan() }
        }
    }

    /// File names come from the operator's www folder into the host's
    /// shell: quotes, `$`, backticks, spaces and newlines stay names.
    @Test func hostileFileNamesAreOnlyNames() throws {
        let r = root
        // Evaluated, the two substitutions would change the names.
        let names = ["a\"b.html", "$(echo x).png", "`echo y`.txt", "$HOME", "with space.txt",
                     "new\nline.css", "it's.js", "back\\slash", "semi;colon&amp", "-dash"]
        let manifest = Manifest {
            Directory("\(r)/www")
            for name in names { File("\(r)/www/\(name)", text: "content of \(name)\n") }
        }
        let first = try engine(manifest).run(dryRun: false)
        #expect(first.applied)
        for name in names { #expect(read("\(r)/www/\(name)") == "content of \(name)\n", "\(name)") }
        let listed = try FileManager.default.contentsOfDirectory(atPath: "\(r)/www").sorted()
        #expect(listed == names.sorted())
        #expect(try engine(manifest).run(dryRun: false).plan.isEmpty)
    }

    /// A run cut between staging and renaming leaves our temporary files
    /// beside the targets: the next probe reports them, the run removes
    /// them (also when nothing else differs), and the one after is a no-op.
    @Test func temporaryFilesOfAnInterruptedRunAreRepaired() throws {
        let r = root
        let manifest = Manifest {
            File("\(r)/etc/app/main.conf", text: "a = 1\n")
        }
        _ = try engine(manifest).run(dryRun: false)
        let names = [".cmdeploy-new.3", "main.conf.cmdeploy-new", ".cmdeploy-Ab12Cd"]
        for name in names { try "half".write(toFile: "\(r)/etc/app/\(name)", atomically: false, encoding: .utf8) }
        try "operator's".write(toFile: "\(r)/etc/app/notes.cmdeploy-old", atomically: false, encoding: .utf8)

        let e = try engine(manifest)
        let (plan, _) = try e.plan()
        #expect(plan.changes.isEmpty && plan.services.isEmpty)
        #expect(plan.repairs.count == 1 && plan.repairs[0].hasPrefix("remove 3 temporary files of an interrupted run"))
        #expect(!plan.isEmpty)
        #expect(PlanPrinter.text(plan, desired: e.desired).hasPrefix("left by an interrupted run\n  ✚ remove 3 temporary files"))

        let repaired = try engine(manifest).run(dryRun: false)
        #expect(repaired.applied)
        #expect(repaired.roundTrips == 3, "probe, the repair batch, verify probe")
        for name in names { #expect(!FileManager.default.fileExists(atPath: "\(r)/etc/app/\(name)")) }
        #expect(read("\(r)/etc/app/notes.cmdeploy-old") == "operator's", "only our own names are removed")
        #expect(read("\(r)/etc/app/main.conf") == "a = 1\n")
        #expect(try engine(manifest).run(dryRun: false).plan.isEmpty)
    }

    /// After a dropped connection the apply may still run on the host under
    /// its lock: the next run says so, waits, and only then probes.
    @Test func aRunWaitsWhileAnotherApplyHoldsTheHostLock() throws {
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/sh")
        holder.arguments = ["-c", "exec 9>>\(Recovery.lockPath); flock 9; echo locked; sleep 2"]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        _ = out.fileHandleForReading.availableData  // "locked"
        let waits = Box()
        let e = Engine(host: LocalHost(), desired: try DesiredState([("test", Manifest { File("\(root)/a.conf", text: "x\n") })]),
                       onEvent: { if case .waiting(let owner) = $0 { waits.items.append(owner) } })
        let start = Date()
        let summary = try e.run(dryRun: false)
        holder.waitUntilExit()
        #expect(!waits.items.isEmpty)
        #expect(Date().timeIntervalSince(start) > 1, "it waited for the holder")
        #expect(summary.applied && read("\(root)/a.conf") == "x\n")
    }
}

/// The policy-rc.d that keeps maintainer scripts from starting services
/// during apt-get, run for real on a path in a temporary directory.
@Suite struct PolicyGuardTests {
    func runGuard(_ path: String, then body: String) throws -> CommandResult {
        let script = "S=$(mktemp -d)\n" + Recovery.policyGuard(path: path) + body
        return try LocalHost().run("sh -s", stdin: Array(script.utf8))
    }

    @Test func activeWhileTheScriptRunsAndGoneAfter() throws {
        let path = "/tmp/cmdeploy-policy-\(UUID().uuidString.prefix(8))"
        let r = try runGuard(path, then: "\"$PRC\" postfix start; echo \"rc=$?\"\n")
        #expect(r.stdoutText.contains("rc=101"), "services are denied while it runs")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// A run killed during apt-get leaves ours behind: the next run takes it over.
    @Test func aLeftoverFromAKilledRunIsRemoved() throws {
        let path = "/tmp/cmdeploy-policy-\(UUID().uuidString.prefix(8))"
        let stale = try runGuard(path, then: "cp \"$PRC\" \"$PRC.kept\"\n")
        #expect(stale.succeeded)
        try FileManager.default.moveItem(atPath: path + ".kept", toPath: path)
        _ = try runGuard(path, then: "true\n")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func anOperatorsOwnPolicyIsLeftAlone() throws {
        let path = "/tmp/cmdeploy-policy-\(UUID().uuidString.prefix(8))"
        try "#!/bin/sh\nexit 0\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try runGuard(path, then: "true\n")
        #expect((try? String(contentsOfFile: path, encoding: .utf8)) == "#!/bin/sh\nexit 0\n")
    }
}

final class Box: @unchecked Sendable { var items: [String] = [] }
