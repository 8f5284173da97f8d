import Foundation
import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

/// The status script run for real on this machine (no relay here, so most
/// checks fail, but every section must be produced and parsed).
@Suite struct StatusProbeLocalTests {
    @Test func scriptRunsToItsEndAndReportsThisMachine() throws {
        let context = try componentContext(domain: "chat.example.org", ["mailboxes_dir = /tmp/status-probe-test/none/here"])
        let expected = try RelayExpectations.derive(context.config)
        let host = LocalHost()
        defer { host.close() }
        let status = try StatusProbe.collect(units: expected.allUnits, config: context.config, on: host)
        #expect(status.complete)
        let now = Int(Date().timeIntervalSince1970)
        #expect(abs((status.now ?? 0) - now) < 600)
        // The nearest existing folder of a missing mailboxes_dir is measured.
        #expect((status.disk?.totalKB ?? 0) > 0)
        #expect((status.memAvailableKB ?? 0) > 0)
        #expect((status.memTotalKB ?? 0) >= (status.memAvailableKB ?? 0))
        #expect(status.load1 != nil)
        #expect((status.cpus ?? 0) >= 1)
        #expect(status.addresses == nil)
        #expect(status.certificateProblem == "missing")
        if FileManager.default.fileExists(atPath: "/run/systemd/system") {
            #expect(status.units["systemd-journald.service"]?.activeState == "active")
        } else {
            #expect(status.noSystemd)
        }

        let report = try RelayHealth.evaluate(status, config: context.config, host: host.name, localStamp: nil)
        #expect(!report.healthy)
        #expect(report.summary.hasPrefix("chat.example.org: "))
        #expect(report.failures.contains { $0.message.contains("/var/lib/acme/live/chat.example.org/fullchain is missing") })
    }

    @Test func datesAreUTCCalendarDates() {
        #expect(RelayHealth.utcDate(0) == "1970-01-01")
        #expect(RelayHealth.utcDateTime(951_825_600) == "2000-02-29 12:00 UTC")
        #expect(RelayHealth.utcDate(4_102_444_799) == "2099-12-31")
        #expect(RelayHealth.when(1000, now: 1000 + 3 * 3600 + 5) == "1970-01-01 00:16 UTC (3 h ago)")
    }
}
