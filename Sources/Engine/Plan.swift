import Remote
import Support
// The plan: desired state minus observed state, as a value. Printing it is
// `--dry-run`; applying it is `run`; an empty plan after applying is proof
// that the host converged.

public struct Change: Sendable, Equatable {
    public enum Action: String, Sendable {
        case create = "+", update = "~", remove = "-", run = "!"
    }
    public var component: String
    /// Index into the desired state.
    public var index: Int
    public var action: Action
    /// `package postfix`, `file /etc/postfix/main.cf`.
    public var subject: String
    /// Why / what differs: `new`, `content, mode 644→640`.
    public var detail: String
    /// Content changed (not only attributes): restart triggers look at this.
    public var contentChanged: Bool
}

public struct ServiceAction: Sendable, Equatable {
    public enum Verb: String, Sendable {
        case enable, disable, start, stop, restart, reload
    }
    public var component: String
    public var unit: String
    public var verb: Verb
    public var reason: String
    /// For units that do not exist yet when the host is probed: the apply
    /// script acts only if a package installed in the same run created them.
    public var onlyIfPresent = false
}

public struct Plan: Sendable {
    public var changes: [Change]
    public var services: [ServiceAction]
    /// Facts from the probe this plan was made from.
    public var facts: HostFacts
    /// What an interrupted run left that this one repairs first (Recovery).
    public var repairs: [String] { Recovery.repairs(facts) }

    public var isEmpty: Bool { changes.isEmpty && services.isEmpty && repairs.isEmpty }
    public var needsDaemonReload: Bool = false

    /// Changes that belong to `stage`.
    public func changes(in stage: Stage, of desired: DesiredState) -> [Change] {
        changes.filter { desired.items[$0.index].resource.stage == stage }
    }
}

public struct PlanError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension Plan {
    public static func make(desired: DesiredState, probe: ProbeResult) throws(PlanError) -> Plan {
        var changes: [Change] = []
        var refuse: [String] = []
        let items = desired.items

        for (i, item) in items.enumerated() {
            let c = item.component
            func add(_ action: Change.Action, _ subject: String, _ detail: String, content: Bool = true) {
                changes.append(Change(component: c, index: i, action: action, subject: subject,
                                      detail: detail, contentChanged: content))
            }
            let seen = probe.observed[i]
            switch (item.resource, seen) {
            case (.package(let p), .package(let installed)?):
                if p.present && !installed { add(.create, "package \(p.name)", "install") }
                if !p.present && installed { add(.remove, "package \(p.name)", "remove") }
            case (.group(let g), .group(let exists)?):
                if !exists { add(.create, "group \(g.name)", "new") }
            case (.user(let u), .user(let exists, let group, let groups, let home, let shell)?):
                if !exists {
                    add(.create, "user \(u.name)", "new")
                } else {
                    var diffs: [String] = []
                    if group != u.group { diffs.append("group \(group)→\(u.group)") }
                    let missing = u.extraGroups.filter { !groups.contains($0) }
                    if !missing.isEmpty { diffs.append("add to \(missing.joined(separator: ","))") }
                    if let h = u.home, h != home { diffs.append("home \(home)→\(h)") }
                    if shell != u.shell { diffs.append("shell \(shell)→\(u.shell)") }
                    if !diffs.isEmpty { add(.update, "user \(u.name)", diffs.joined(separator: ", ")) }
                }
            case (.download(let d), .path(let st)?):
                if st.kind == .directory { refuse.append("\(d.path) is a directory, but \(c) downloads a file there") }
                else if st.kind == .none { add(.create, "download \(d.path)", "new") }
                else if st.sha256 != d.sha256 { add(.update, "download \(d.path)", "sha256 differs") }
                else if let attrs = attributeDiff(st, owner: "root", group: "root", mode: d.mode) {
                    add(.update, "download \(d.path)", attrs, content: false)
                }
            case (.directory(let d), .path(let st)?):
                switch st.kind {
                case .none: add(.create, "directory \(d.path)", "new")
                case .directory:
                    if let attrs = attributeDiff(st, owner: d.owner, group: d.group, mode: d.mode) {
                        add(.update, "directory \(d.path)", attrs, content: false)
                    }
                default: refuse.append("\(d.path) exists but is not a directory (\(c) wants a directory there)")
                }
            case (.file(let f), .path(let st)?):
                switch st.kind {
                case .none: add(.create, "file \(f.path)", "new")
                case .directory: refuse.append("\(f.path) is a directory, but \(c) wants a file there")
                case .symlink, .other: add(.update, "file \(f.path)", "replace \(st.kind == .symlink ? "symlink" : "special file")")
                case .file:
                    let sameContent = st.sha256 == sha256Hex(f.content)
                    var parts: [String] = sameContent ? [] : ["content"]
                    if let attrs = attributeDiff(st, owner: f.owner, group: f.group, mode: f.mode) { parts.append(attrs) }
                    if !parts.isEmpty { add(.update, "file \(f.path)", parts.joined(separator: ", "), content: !sameContent) }
                }
            case (.absent(let a), .path(let st)?):
                if st.kind != .none { add(.remove, "path \(a.path)", st.kind == .directory ? "directory" : "remove") }
            case (.line(let l), .line(let present)?):
                if !present { add(.update, "line in \(l.path)", l.line) }
            case (.command, _), (.service, _):
                break  // decided below, once all changes are known
            default:
                throw PlanError(message: "the fact probe reported nothing for \(item.resource.key) (\(c))")
            }
        }
        if !refuse.isEmpty {
            throw PlanError(message: "cannot deploy, the host has conflicting paths:\n  " + refuse.joined(separator: "\n  "))
        }

        // What changed, by trigger name, for commands and restarts.
        var changedTriggers: Set<String> = []
        for ch in changes where ch.contentChanged {
            if let t = items[ch.index].resource.triggerName { changedTriggers.insert(t) }
        }
        // Newly installed packages count as changed for their triggers.
        for (i, item) in items.enumerated() {
            guard case .command(let cmd) = item.resource else { continue }
            let triggered = cmd.onChangeOf.filter(changedTriggers.contains)
            var unsatisfied = false
            if cmd.unless != nil, case .command(let ok)? = probe.observed[i], !ok { unsatisfied = true }
            if unsatisfied || !triggered.isEmpty {
                let why = unsatisfied ? "check failed" : "\(triggered.map(basename).joined(separator: ", ")) changed"
                changes.append(Change(component: item.component, index: i, action: .run,
                                      subject: "run \(cmd.name)", detail: why, contentChanged: true))
            }
        }
        changes.sort { $0.index < $1.index }

        var services: [ServiceAction] = []
        let declaresServices = items.contains { if case .service = $0.resource { true } else { false } }
        if declaresServices && !probe.facts.hasSystemd {
            throw PlanError(message: "the host does not run systemd, so its services cannot be managed")
        }
        let installsPackages = changes.contains {
            if $0.action == .create, case .package = items[$0.index].resource { true } else { false }
        }
        for (i, item) in items.enumerated() {
            guard case .service(let svc) = item.resource,
                  case .service(let enabledState, let activeState)? = probe.observed[i] else { continue }
            let c = item.component
            let isEnabled = enabledState == "enabled" || enabledState == "static" || enabledState == "alias"
            let isActive = activeState == "active" || activeState == "reloading" || activeState == "activating"
            if svc.enabled && !isEnabled && enabledState != "static" {
                services.append(ServiceAction(component: c, unit: svc.unit, verb: .enable, reason: enabledState.isEmpty ? "not enabled" : enabledState))
            }
            if !svc.enabled && isEnabled && enabledState != "static" {
                services.append(ServiceAction(component: c, unit: svc.unit, verb: .disable, reason: "enabled"))
            }
            // A unit we want off that does not exist yet may come with a
            // package this run installs, enabled and started by its postinst
            // (unbound-resolvconf comes with unbound): decide on the host.
            let unknownUnit = enabledState.isEmpty || enabledState == "not-found"
            if unknownUnit && installsPackages && (!svc.enabled || !svc.running) {
                if !svc.enabled {
                    services.append(ServiceAction(component: c, unit: svc.unit, verb: .disable,
                                                  reason: "if a new package brings it", onlyIfPresent: true))
                }
                if !svc.running {
                    services.append(ServiceAction(component: c, unit: svc.unit, verb: .stop,
                                                  reason: "if a new package brings it", onlyIfPresent: true))
                }
                continue
            }
            if !svc.running {
                if isActive { services.append(ServiceAction(component: c, unit: svc.unit, verb: .stop, reason: "running")) }
                continue
            }
            if !isActive {
                services.append(ServiceAction(component: c, unit: svc.unit, verb: .start, reason: activeState.isEmpty ? "not running" : activeState))
                continue
            }
            let restartBy = svc.restartOn.filter(changedTriggers.contains)
            let pending = probe.facts.pendingRestarts.contains(svc.unit)
            if !restartBy.isEmpty || pending {
                let why = restartBy.isEmpty ? "left pending by an interrupted run" : restartBy.map(basename).joined(separator: ", ") + " changed"
                services.append(ServiceAction(component: c, unit: svc.unit, verb: .restart, reason: why))
            } else {
                let reloadBy = svc.reloadOn.filter(changedTriggers.contains)
                if !reloadBy.isEmpty {
                    services.append(ServiceAction(component: c, unit: svc.unit, verb: .reload,
                                                  reason: reloadBy.map(basename).joined(separator: ", ") + " changed"))
                }
            }
        }
        var plan = Plan(changes: changes, services: services, facts: probe.facts)
        plan.needsDaemonReload = changes.contains {
            if case .file(let f) = items[$0.index].resource { f.isSystemdUnit } else { false }
        } || changes.contains {
            if case .absent(let a) = items[$0.index].resource { a.path.hasPrefix("/etc/systemd/system/") } else { false }
        }
        return plan
    }

    /// `owner root→vmail, mode 644→640`, or nil when all match.
    static func attributeDiff(_ st: PathState, owner: String, group: String, mode: UInt32) -> String? {
        var parts: [String] = []
        if st.owner != owner { parts.append("owner \(st.owner)→\(owner)") }
        if st.group != group { parts.append("group \(st.group)→\(group)") }
        if st.mode != mode { parts.append("mode \(String(st.mode, radix: 8))→\(String(mode, radix: 8))") }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }
}

func basename(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
}
