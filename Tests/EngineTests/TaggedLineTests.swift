import Foundation
import Testing
import TestSupport
@testable import Engine
@testable import Remote

/// The engine's script protocols: what the shell side prints, the Swift
/// side reads back field for field.
@Suite struct TaggedLineTests {
    @Test func printedByTheShellAndReadBack() throws {
        let values = ["plain", "with space", "it's", "$(echo x)", "`y`", "back\\slash", "", "ünï"]
        let script = values.map { TaggedLine.printf("F", "fact", "\($0)") }.joined(separator: "\n")
        let r = try runTool("/bin/sh", ["-c", script.text], stderr: false)
        #expect(r.status == 0)
        let lines = r.output.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { TaggedLine($0) }
        #expect(lines.map(\.tag) == Array(repeating: "F", count: values.count))
        #expect(lines.map { $0.field(0) } == Array(repeating: "fact", count: values.count))
        #expect(lines.map { $0.field(1) } == values)
    }

    @Test func shellWordsAreEvaluatedWhereThatIsTheIntent() throws {
        let r = try runTool("/bin/sh", ["-c", "set -- 'a step'; " + TaggedLine.printf("@@step", "\"$1\"").text], stderr: false)
        #expect(r.output == "@@step\ta step\n")
    }

    @Test func fieldsAndRest() {
        let line = TaggedLine("@@fail\tservice\trestart postfix\textra")
        #expect(line.tag == "@@fail" && line.field(0) == "service" && line.field(5) == nil)
        #expect(line.rest(from: 1) == "restart postfix\textra")
        #expect(TaggedLine("END") == TaggedLine(tag: "END", fields: []))
    }
}

/// apt's status lines, as `apt-get -o APT::Status-Fd=3` writes them, become
/// progress markers the engine reads; other lines are dropped.
@Suite struct AptProgressTests {
    @Test func statusLinesBecomeProgressMarkers() throws {
        let input = [
            "dlstatus:1:9.0909:Retrieving file 1 of 11",
            "pmstatus:dpkg-exec:0:Running dpkg",
            "pmstatus:nginx:45.4545:Installing nginx (amd64)",
            "pmstatus:libc6:amd64:60:Preparing to configure libc6:amd64 (amd64)",
            "media-change: none",
            "Setting up nginx (1.22.1-9) ...",
        ].joined(separator: "\n") + "\n"
        let r = try shell("printf '%s' '\(input)' | \(ApplyScript.aptProgressFilter)")
        let markers = r.output.split(separator: "\n").map { TaggedLine($0) }
        #expect(markers.map(\.tag) == ["@@progress", "@@progress", "@@progress", "@@progress"])
        #expect(markers[0].fields == ["dlstatus", "9.0909", "Retrieving file 1 of 11"])
        #expect(markers[2].fields == ["pmstatus", "45.4545", "Installing nginx (amd64)"])
        // A colon in apt's words stays in them.
        #expect(markers[3].rest(from: 2) == "Preparing to configure libc6:amd64 (amd64)")
    }
}

/// `systemctl show -p ActiveState -p UnitFileState` for several units (as
/// systemd 252 prints it, captured on a lab relay) becomes one line per
/// resource, with the words `is-enabled` and `is-active` print; a unit
/// declared twice answers for both ids.
@Suite struct UnitShowTests {
    @Test func blocksBecomeOneLinePerResource() throws {
        let show = """
            ActiveState=active
            UnitFileState=enabled

            ActiveState=inactive
            UnitFileState=

            ActiveState=inactive
            UnitFileState=masked

            ActiveState=active
            UnitFileState=enabled-runtime
            """
        let r = try shell("printf '%s\\n' '\(show)' | awk -v ids='R3 R5 R7,R9 R11' \(Probe.q(Probe.unitShowAwk))")
        #expect(r.status == 0)
        #expect(r.output == "R3\tenabled\tactive\nR5\t\tinactive\nR7\tmasked\tinactive\nR9\tmasked\tinactive\nR11\tenabled-runtime\tactive\n")
        // Fewer blocks than units (systemctl stopped early): the rest stay unreported.
        let short = try shell("printf 'ActiveState=active\\nUnitFileState=static\\n' | awk -v ids='R1 R2' \(Probe.q(Probe.unitShowAwk))")
        #expect(short.output == "R1\tstatic\tactive\n")
    }
}
