import Deploy
import Foundation
import Engine
import Remote

/// Packages of the bench manifest; scripts/bench-engine installs the same
/// ones with a bare apt-get for comparison.
let benchPackages = ["postfix", "curl", "rsync", "cron"]

/// The deploy that scripts/bench-engine.d/deploy.py describes for pyinfra,
/// resource for resource.
func benchManifest(_ s: LabSettings) -> Manifest {
    Manifest {
        for p in benchPackages { Package(p) }
        for g in 1...3 { SystemGroup("benchgrp\(g)") }
        for u in 1...3 { SystemUser("benchusr\(u)", group: "benchgrp\(u)") }
        Download(s.filesURL + s.turnFile, sha256: s.sums[s.turnFile] ?? "", to: "/usr/local/bin/bench-turn")
        for d in 0..<10 { Directory("/etc/bench/d\(d)") }
        for i in 0..<60 { File("/etc/bench/d\(i % 10)/f\(i).conf", text: "# bench file \(i)\nvalue = \(i * 7)\n") }
        for l in 1...5 { LineInFile("/etc/bench/lines.txt", line: "line \(l)") }
        File("/etc/systemd/system/benchd.service", text: """
            [Unit]
            Description=cmdeploy bench service

            [Service]
            ExecStart=/usr/local/bin/bench-turn

            [Install]
            WantedBy=multi-user.target

            """)
        Service("benchd", restartOn: ["/etc/systemd/system/benchd.service", "/usr/local/bin/bench-turn"])
    }
}

/// One run of the bench manifest on a fresh connection, as `cmdeploy run`
/// does it; scripts/bench-engine times it from outside.
func runBench(target: String, settings: LabSettings) throws {
    let desired = try DesiredState([("bench", benchManifest(settings))])
    let start = Date()
    let host = try connect(target)
    defer { host.close() }
    let connected = Date().timeIntervalSince(start)
    var probeSeconds = 0.0
    let engine = Engine(host: host, desired: desired) { event in
        if case .probed(let seconds, _) = event, probeSeconds == 0 { probeSeconds = seconds }
    }
    let summary = try engine.run(dryRun: false)
    print("resources=\(desired.items.count) changes=\(summary.plan.changes.count) "
        + "services=\(summary.plan.services.count) round_trips=\(summary.roundTrips) "
        + String(format: "connect_seconds=%.2f probe_seconds=%.2f seconds=%.2f",
                 connected, probeSeconds, Date().timeIntervalSince(start)))
}
