import Deploy
import Foundation
import Engine

/// Shows what the engine does: a live status line on a terminal, one plain
/// line per step in CI logs, or JSON lines with --json.
final class EventPrinter: @unchecked Sendable {
    enum Mode { case terminal, plain, json }
    let mode: Mode
    private let start = Date()
    private var steps = 0
    private var lineOpen = false
    /// The step the live line shows, and when plain output last reported progress.
    private var currentStep = ""
    private var lastPlainProgress: (phase: String, tenth: Int, shape: String, at: Date)?

    init(mode: Mode) { self.mode = mode }

    private var elapsed: String { String(format: "%5.1fs", Date().timeIntervalSince(start)) }

    func note(_ text: String) {
        if mode == .json { emit(["event": "note", "text": text]) } else { Console.warn(text) }
    }

    func plan(_ plan: Plan, desired: DesiredState, probe: ProbeResult, diff: Bool) {
        if mode == .json { return }  // the engine's planned event carries it
        print(PlanPrinter.text(plan, desired: desired, probe: probe, diff: diff))
    }

    func handle(_ event: EngineEvent) {
        switch mode {
        case .json:
            emit(JSONEvents.object(for: event))
        case .plain:
            switch event {
            case .probed(let s, let n): print("[\(elapsed)] probed \(n) resources in \(ms(s))")
            case .stepStarted(let name): steps += 1; print("[\(elapsed)] \(name)")
            case .batchFinished(let name, let s): print("[\(elapsed)] \(name) done in \(ms(s))")
            case .verified(let s): print("[\(elapsed)] verified: the host matches (\(ms(s)))")
            case .waiting(let owner): print("[\(elapsed)] \(Self.waitingText(owner))")
            case .progress(let phase, let percent, let detail):
                // A log gets a line per tenth, or every 10 s, not one per
                // package or byte count; a new state ("order placed") always.
                let now = Date()
                let tenth = percent.map { $0 / 10 } ?? -1
                let shape = detail.filter { !$0.isNumber }
                if let last = lastPlainProgress, last.phase == phase, tenth == last.tenth,
                   percent != nil || shape == last.shape,
                   now.timeIntervalSince(last.at) < 10, (percent ?? 0) < 100 { break }
                lastPlainProgress = (phase, tenth, shape, now)
                print("[\(elapsed)] \(Self.progressText(phase, percent, detail))")
            case .planned: break
            }
        case .terminal:
            switch event {
            case .stepStarted(let name):
                steps += 1
                currentStep = "step \(steps): \(name)"
                liveLine("[\(elapsed)] \(currentStep)")
            case .progress(let phase, let percent, let detail):
                liveLine("[\(elapsed)] \(Self.progressText(phase, percent, detail))")
            case .batchFinished(let name, let s):
                closeLine()
                print("[\(elapsed)] \(name) done in \(ms(s))")
            case .verified(let s):
                closeLine()
                print("[\(elapsed)] verified: the host matches (\(ms(s)))")
            case .waiting(let owner):
                closeLine()
                print("[\(elapsed)] \(Self.waitingText(owner))")
            case .probed, .planned: break
            }
        }
    }

    /// "installing packages: 45% (Installing nginx (amd64))", "certificate: order ready".
    static func progressText(_ phase: String, _ percent: Int?, _ detail: String) -> String {
        guard let percent else { return "\(phase): \(detail)" }
        return "\(phase): \(percent)% (\(detail))"
    }

    static func waitingText(_ owner: String) -> String {
        "another cmdeploy apply is still running on the host (\(owner)), e.g. one whose connection dropped; "
            + "waiting for it to finish (up to 10 minutes)"
    }

    func finish(_ summary: RunSummary) {
        closeLine()
        if mode == .json {
            emit(["event": "done", "applied": summary.applied, "round_trips": summary.roundTrips,
                  "seconds": (summary.seconds * 1000).rounded() / 1000])
        } else if summary.applied || summary.plan.isEmpty {
            let waited = summary.waitRoundTrips == 0 ? "" : " (and \(summary.waitRoundTrips) while waiting for another apply)"
            print("[\(elapsed)] \(summary.roundTrips) round trip\(summary.roundTrips == 1 ? "" : "s") to the host\(waited)")
        }
    }

    /// The closing lines as one JSON event (`--json` only).
    func closing(_ lines: [ReportLine]) {
        let style: [ReportLine.Style: String] = [.plain: "plain", .ok: "ok", .warning: "warning", .error: "error"]
        emit(["event": "closing", "lines": lines.map { ["style": style[$0.style] ?? "plain", "text": $0.text] }])
    }

    func failed(_ message: String) {
        closeLine()
        if mode == .json { emit(["event": "failed", "error": message]) }
        Console.error(message)
    }

    /// Replaces the terminal's status line (cut to fit a usual terminal).
    private func liveLine(_ text: String) {
        FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + String(text.prefix(120))).utf8))
        lineOpen = true
    }

    private func closeLine() {
        if lineOpen { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)); lineOpen = false }
    }

    private func emit(_ object: [String: Any]) {
        print(JSONEvents.line(object))
        fflush(nil)
    }

    private func ms(_ s: Double) -> String { s < 1 ? "\(Int(s * 1000)) ms" : String(format: "%.1f s", s) }
}
