import Remote
import Support

/// What the engine reports while it works; the CLI turns these into
/// progress lines on a terminal, plain lines in CI, or JSON lines.
public enum EngineEvent: Sendable {
    case probed(seconds: Double, resources: Int)
    case planned(Plan)
    case stepStarted(String)
    case batchFinished(name: String, seconds: Double)
    case verified(seconds: Double)
    /// Another apply is running on the host (e.g. one whose connection
    /// dropped); this run waits for it. The value names its owner.
    case waiting(String)
    /// How far a long step is. `phase`: "downloading packages" and
    /// "installing packages" (apt's status, `detail` in apt's own words:
    /// "Installing nginx (amd64)"), "downloading" (a pinned file, `detail`
    /// "iroh-relay: 5632k of 12.3M"), or what a command reports, such as
    /// "certificate" (the ACME order's state). `percent` is whole percent,
    /// nil when unknown. Sent when the percent (or, without one, the detail)
    /// changes.
    case progress(phase: String, percent: Int?, detail: String)
}

/// Where an apply stopped: the step, and the host's own words about it.
public struct ApplyError: Error, CustomStringConvertible {
    public var host: String
    public var kind: String
    public var subject: String
    public var output: String

    public var description: String {
        var head: String
        switch kind {
        case "validate":
            head = "\(host): the new \(subject) was rejected by its validation; the previous file is still in place"
        case "service":
            head = "\(host): \(subject) failed"
        case "apt":
            head = "\(host): apt-get \(subject) failed"
        case "lock":
            head = "\(host): another cmdeploy apply is still running there; gave up waiting for \(subject)"
        case "dpkg":
            head = "\(host): finishing the interrupted package installation failed (dpkg --configure -a); "
                + "fix it on the host (`dpkg --audit` lists the packages), then run again"
        default:
            head = "\(host): \(kind) \(subject) failed"
        }
        let body = output.split(separator: "\n").suffix(40).map { "  | " + $0 }.joined(separator: "\n")
        let text = body.isEmpty ? head : head + "\n" + body
        return nextStep.map { text + "\nNext: " + $0 } ?? text
    }

    /// What to do, for the failures an operator can fix on the host; nil
    /// when the host's own words above are all there is to go on. A rerun
    /// always finishes what this run started (see docs/engine.md, Safety).
    public var nextStep: String? {
        let o = output
        if o.contains("No space left on device") || o.contains("enough free space") {
            return "the disk of \(host) is full (`df -h` there shows where): free some space, then run `cmdeploy run` again; it finishes what this run started."
        }
        if o.contains("Could not get lock") || o.contains("is held by process") {
            return "another program holds apt's lock on \(host), usually unattended-upgrades' daily run (`ps -ef | grep -i apt` there): let it finish, then run `cmdeploy run` again."
        }
        if o.contains("Temporary failure resolving") || o.contains("Failed to fetch") || o.contains("Could not resolve") {
            return "\(host) cannot reach its package mirror: check its network, /etc/resolv.conf and /etc/apt/sources.list, then run `cmdeploy run` again."
        }
        if o.contains("rateLimited") || o.contains("rate limit") {
            return "the ACME CA refuses more certificates for this domain for now (rate limit): wait until the time it names (Let's Encrypt allows 5 duplicate certificates a week), or use a staging acme_directory_url meanwhile, then run `cmdeploy run` again."
        }
        if kind == "command" && subject.contains("acmetool") {
            return "acmetool could not get a certificate: check that the CA in acme_directory_url is reachable from \(host) and that ports 80 and 443 reach this host from the internet (`cmdeploy dns` checks the names), then run `cmdeploy run` again."
        }
        return nil
    }
}

/// A host that still differs from the manifest after applying it.
public struct ConvergenceError: Error, CustomStringConvertible {
    public var host: String
    public var leftovers: [String]
    public var description: String {
        "\(host): after applying, these resources still differ (please report this as a bug):\n  "
            + leftovers.joined(separator: "\n  ")
    }
}

/// The host lacks what the run requires; nothing was changed.
public struct RequirementError: Error, CustomStringConvertible {
    public var host: String
    public var refusals: [String]
    public var description: String {
        refusals.joined(separator: "\n") + "\nNothing was changed on \(host)."
    }
}

public struct RunSummary: Sendable {
    public var plan: Plan
    public var applied: Bool
    /// Execs sent to the host (the probe, each apply batch, the verify probe).
    public var roundTrips: Int
    /// Execs spent waiting for another apply (waits and the probes after them).
    public var waitRoundTrips: Int = 0
    public var seconds: Double
}

/// Declare → probe → plan → apply in batches → verify.
public final class Engine {
    public let host: any Host
    public let desired: DesiredState
    public var onEvent: (EngineEvent) -> Void
    public private(set) var roundTrips = 0
    public private(set) var waitRoundTrips = 0

    /// `@@progress` kinds and the phase they are shown as (others as they are).
    static let progressPhases = ["dlstatus": "downloading packages", "pmstatus": "installing packages",
                                 "download": "downloading"]

    public init(host: any Host, desired: DesiredState, onEvent: @escaping (EngineEvent) -> Void = { _ in }) {
        self.host = host
        self.desired = desired
        self.onEvent = onEvent
    }

    /// Whether probes may update the host's hash cache (`run` turns it off
    /// for a dry run, which must leave the host as it is).
    public var recordHashes = true

    /// One exec that reports the state of every declared resource.
    public func probe(withContent: Bool = false) throws -> ProbeResult {
        let start = monotonicSeconds()
        let script = Probe.script(for: desired.items, withContent: withContent, recordHashes: recordHashes)
        let result = try host.runScript(script, timeout: 120)
        roundTrips += 1
        guard result.succeeded || result.stdoutText.hasSuffix("END\n") else {
            throw ProbeError(message: "\(host.name): the fact probe failed (exit \(result.status)): \(result.stderrText)")
        }
        let parsed = try Probe.parse(result.stdoutText, items: desired.items)
        onEvent(.probed(seconds: (monotonicSeconds() - start), resources: desired.items.count))
        return parsed
    }

    /// Probes (after waiting for an apply still running on the host, so the
    /// plan is never made from a half-applied state) and plans.
    public func plan(withContent: Bool = false) throws -> (Plan, ProbeResult) {
        var probed = try probe(withContent: withContent)
        var waits = 0
        while let owner = probed.facts.busy {
            guard waits < 20 else {
                throw ProbeError(message: "\(host.name): another cmdeploy apply keeps starting on the host (\(owner)); "
                    + "run one deploy at a time")
            }
            waits += 1
            onEvent(.waiting(owner))
            try waitForLock(owner: owner)
            // The first probe and the wait count as waiting; this probe is the run's.
            roundTrips -= 1
            waitRoundTrips += 2
            probed = try probe(withContent: withContent)
        }
        let plan = try Plan.make(desired: desired, probe: probed)
        return (plan, probed)
    }

    /// Blocks until the host's apply lock is free (one round trip).
    private func waitForLock(owner: String) throws {
        let lock = shellQuote(Recovery.lockPath)
        let result = try host.run("exec 9>>\(lock) && flock -w \(Recovery.lockWait) 9", timeout: Double(Recovery.lockWait + 60))
        guard result.succeeded else {
            throw ProbeError(message: """
                \(host.name): another cmdeploy apply has held \(Recovery.lockPath) for over \(Recovery.lockWait / 60) minutes (\(owner)).
                If no deploy is running there, find what holds it: ssh to the host and run `fuser -v \(Recovery.lockPath)`.
                """)
        }
    }

    /// Applies `plan` for the given stages: at most two execs (install, then
    /// configure+activate).
    public func apply(_ plan: Plan, stages: Set<Stage> = Set(Stage.allCases)) throws {
        let install = stages.contains(.install) ? ApplyScript.install(plan, desired) : nil
        if let script = install { try runBatch("install", script.text) }
        var ran = install != nil
        if let script = ApplyScript.configureAndActivate(plan, desired, stages: stages) {
            try runBatch(stages.contains(.activate) ? "configure and activate" : "configure", script.text)
            ran = true
        }
        // Every batch starts with the repairs; a plan of only repairs needs one.
        if !ran && !plan.repairs.isEmpty {
            try runBatch("repair", ApplyScript.repair(desired).text)
        }
    }

    /// The whole cycle. With `dryRun` it stops after the plan.
    /// `review` sees the plan and the probed facts before anything changes;
    /// throwing from it stops the run (e.g. a binary for the wrong architecture).
    public func run(dryRun: Bool, stages: Set<Stage> = Set(Stage.allCases), withContent: Bool = false,
                    review: (Plan, ProbeResult) throws -> Void = { _, _ in }) throws -> RunSummary {
        let start = monotonicSeconds()
        recordHashes = !dryRun
        defer { recordHashes = true }
        var (plan, probed) = try self.plan(withContent: withContent)
        try checkRequirements(plan)
        onEvent(.planned(plan))
        try review(plan, probed)
        if dryRun || plan.isEmpty {
            return RunSummary(plan: plan, applied: false, roundTrips: roundTrips, waitRoundTrips: waitRoundTrips,
                              seconds: (monotonicSeconds() - start))
        }
        // Finishing an interrupted dpkg or file moves changes what the plan
        // was made from (a package's postinst enables its units): repair
        // first, then plan again from what the host is now.
        if plan.facts.dpkgInterrupted || plan.facts.unfinishedMoves {
            try runBatch("repair", ApplyScript.repair(desired).text)
            (plan, probed) = try self.plan(withContent: withContent)
            onEvent(.planned(plan))
            try review(plan, probed)
            if plan.isEmpty {
                onEvent(.verified(seconds: 0))
                return RunSummary(plan: plan, applied: true, roundTrips: roundTrips, waitRoundTrips: waitRoundTrips,
                                  seconds: (monotonicSeconds() - start))
            }
        }
        try apply(plan, stages: stages)
        let verifyStart = monotonicSeconds()
        let (after, _) = try self.plan()
        let leftovers = after.repairs.map { "repair: \($0)" }
            + after.changes.filter { stages.contains(desired.items[$0.index].resource.stage) }
            .map { "\($0.action.rawValue) \($0.subject) (\($0.detail))" }
            + (stages.contains(.activate) ? after.services.filter { $0.verb != .restart && $0.verb != .reload }
                .map { "\($0.verb.rawValue) \($0.unit) (\($0.reason))" } : [])
        if !leftovers.isEmpty { throw ConvergenceError(host: host.name, leftovers: leftovers) }
        onEvent(.verified(seconds: (monotonicSeconds() - verifyStart)))
        return RunSummary(plan: plan, applied: true, roundTrips: roundTrips, waitRoundTrips: waitRoundTrips,
                          seconds: (monotonicSeconds() - start))
    }

    /// Requirements the probe found unmet refuse the run, all named at once.
    func checkRequirements(_ plan: Plan) throws {
        let refusals = plan.changes.compactMap { change -> String? in
            guard case .command(let c) = desired.items[change.index].resource else { return nil }
            return c.refusal
        }
        if !refusals.isEmpty { throw RequirementError(host: host.name, refusals: refusals) }
    }

    private func runBatch(_ name: String, _ script: String) throws {
        let start = monotonicSeconds()
        // The script goes to a private temporary file first (so commands in
        // it cannot eat the rest of it from stdin) and runs detached in its
        // own session, writing to a log this exec follows: a dropped SSH
        // connection leaves the apply running to its end under the host's
        // lock instead of killing it halfway (apt in particular). The next
        // run waits for the lock and repairs what a killed apply left.
        // The lock comes first and is held here until the log is read and
        // removed, so no temporary file of this run exists unlocked (another
        // run's repairs would take it for a leftover).
        let command = Recovery.takeLock + """
            t=$(mktemp /tmp/cmdeploy-script.XXXXXX) && cat >"$t" && : >"$t.log" || exit 1
            CMDEPLOY_LOCKED=1 setsid -w sh -c 'sh "$1" </dev/null >>"$1.log" 2>&1; printf "@@exit\\t%s\\n" "$?" >>"$1.log"; rm -f "$1"' sh "$t" </dev/null >/dev/null 2>&1 &
            tail -s 0.1 -n +1 -f --pid=$! "$t.log"
            rc=$(sed -n 's/^@@exit\\t//p' "$t.log" | tail -n 1); rm -f "$t.log"
            exit "${rc:-1}"
            """
        var lastFail: (kind: String, subject: String)?
        var afterFail: [String] = []
        var lastProgress: (phase: String, percent: Int?, detail: String)?
        let result = try host.run(command, stdin: Array(script.utf8), timeout: 3600) { [onEvent] stream, line in
            guard stream == .stdout else { return }
            let marker = line.hasPrefix("@@") ? TaggedLine(line) : nil
            switch marker?.tag {
            case "@@step": onEvent(.stepStarted(marker!.rest(from: 0)))
            case "@@wait": onEvent(.waiting(marker!.rest(from: 0)))
            case "@@exit": return
            case "@@progress":
                guard let kind = marker!.field(0) else { return }
                let phase = Self.progressPhases[kind] ?? kind
                let percent = (marker!.field(1)).flatMap(Double.init).map { min(100, max(0, Int($0))) }
                let detail = marker!.rest(from: 2)
                guard lastProgress.map({ $0.phase != phase || $0.percent != percent || (percent == nil && $0.detail != detail) }) ?? true
                else { return }
                lastProgress = (phase, percent, detail)
                onEvent(.progress(phase: phase, percent: percent, detail: detail))
            case "@@fail": lastFail = (marker!.field(0) ?? "step", marker!.rest(from: 1))
            default: if lastFail != nil { afterFail.append(line) }
            }
        }
        roundTrips += 1
        if let fail = lastFail {
            throw ApplyError(host: host.name, kind: fail.kind, subject: fail.subject, output: afterFail.joined(separator: "\n"))
        }
        guard result.succeeded else {
            throw ApplyError(host: host.name, kind: "apply", subject: name,
                             output: result.stderrText + result.stdoutText.suffix(2000))
        }
        onEvent(.batchFinished(name: name, seconds: (monotonicSeconds() - start)))
    }
}
