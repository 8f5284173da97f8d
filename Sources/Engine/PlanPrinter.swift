import Foundation
import Remote
import Support

/// Human and JSON renderings of a plan.
public enum PlanPrinter {
    /// One line per change, grouped by component in deploy order:
    ///
    ///     postfix
    ///       + package postfix (install)
    ///       ~ file /etc/postfix/main.cf (content, mode 644→640)
    ///       ↻ restart postfix.service (main.cf changed)
    public static func text(_ plan: Plan, desired: DesiredState, probe: ProbeResult? = nil, diff: Bool = false) -> String {
        if plan.isEmpty { return "No changes: the host matches chatmail.ini." }
        var order: [String] = []
        for item in desired.items where !order.contains(item.component) { order.append(item.component) }
        var out: [String] = []
        if !plan.repairs.isEmpty {
            out.append("left by an interrupted run")
            out.append(contentsOf: plan.repairs.map { "  ✚ \($0)" })
        }
        for component in order {
            let changes = plan.changes.filter { $0.component == component }
            let services = plan.services.filter { $0.component == component }
            if changes.isEmpty && services.isEmpty { continue }
            out.append(component)
            for ch in changes {
                out.append("  \(ch.action.rawValue) \(ch.subject) (\(ch.detail))")
                if diff, case .file(let f) = desired.items[ch.index].resource, ch.contentChanged {
                    if f.secret {
                        out.append("      (secret: content not shown)")
                    } else {
                        let old = probe?.currentContent[ch.index].map { String(decoding: $0, as: UTF8.self) } ?? ""
                        out.append(contentsOf: unifiedDiff(old: old, new: String(decoding: f.content, as: UTF8.self))
                            .map { "      " + $0 })
                    }
                }
            }
            for s in services {
                let symbol = s.verb == .restart || s.verb == .reload ? "↻" : (s.verb == .stop || s.verb == .disable ? "■" : "▶")
                out.append("  \(symbol) \(s.verb.rawValue) \(s.unit) (\(s.reason))")
            }
        }
        let n = plan.changes.count, m = plan.services.count
        let r = plan.repairs.count
        out.append("\(n) change\(n == 1 ? "" : "s"), \(m) service action\(m == 1 ? "" : "s")"
            + (r == 0 ? "" : ", \(r) repair\(r == 1 ? "" : "s")"))
        return out.joined(separator: "\n")
    }

    /// The plan as one JSON object (for `--json`). Contents are never included.
    public static func json(_ plan: Plan) -> [String: Any] {
        [
            "event": "plan",
            "changes": plan.changes.map {
                ["component": $0.component, "action": actionName($0.action), "subject": $0.subject, "detail": $0.detail]
            },
            "services": plan.services.map {
                ["component": $0.component, "unit": $0.unit, "action": $0.verb.rawValue, "reason": $0.reason]
            },
            "daemon_reload": plan.needsDaemonReload,
            "repairs": plan.repairs,
        ]
    }

    static func actionName(_ a: Change.Action) -> String {
        switch a {
        case .create: "create"
        case .update: "update"
        case .remove: "remove"
        case .run: "run"
        }
    }

    /// A small line diff (longest common subsequence), enough for config files.
    static func unifiedDiff(old: String, new: String, limit: Int = 200) -> [String] {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if a.count * b.count > 4_000_000 { return ["(file too large to diff: \(a.count) → \(b.count) lines)"] }
        var lcs = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        var out: [String] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] { i += 1; j += 1; continue }
            if j < b.count, i == a.count || lcs[i][j + 1] >= lcs[i + 1][j] {
                out.append("+" + b[j]); j += 1
            } else {
                out.append("-" + a[i]); i += 1
            }
            if out.count >= limit { out.append("(diff truncated)"); break }
        }
        return out
    }
}

/// JSON lines for CI pipelines: one object per line, flushed as it happens.
public enum JSONEvents {
    public static func line(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    public static func object(for event: EngineEvent) -> [String: Any] {
        switch event {
        case .probed(let seconds, let resources):
            ["event": "probed", "seconds": rounded(seconds), "resources": resources]
        case .planned(let plan):
            PlanPrinter.json(plan)
        case .stepStarted(let name):
            ["event": "step", "name": name]
        case .batchFinished(let name, let seconds):
            ["event": "batch", "name": name, "seconds": rounded(seconds)]
        case .verified(let seconds):
            ["event": "verified", "seconds": rounded(seconds)]
        case .waiting(let owner):
            ["event": "waiting", "owner": owner]
        case .progress(let phase, let percent, let detail):
            ["event": "progress", "phase": phase, "percent": percent.map { $0 as Any } ?? NSNull(), "detail": detail]
        }
    }

    static func rounded(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
}
