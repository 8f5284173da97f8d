import Foundation
import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

@Suite struct ChatmaildTests {
    let unitDir = "/etc/systemd/system/"

    @Test func binaryAndIniAreInstalledAsGiven() throws {
        let context = try componentContext()
        let m = try Chatmaild().manifest(context)
        let binary = try #require(m.file("/usr/local/bin/chatmaild"))
        #expect(binary.content == context.chatmaild?.content)
        #expect(binary.mode == 0o755 && binary.owner == "root")
        let ini = try #require(m.file("/usr/local/lib/chatmaild/chatmail.ini"))
        #expect(ini.content == Array(try Data(contentsOf: URL(fileURLWithPath: context.config.path))))
        #expect(ini.mode == 0o644)
        #expect(m.absents.contains("/usr/local/lib/chatmaild/venv"))
    }

    /// Delta Chat reads METADATA /shared/vendor/deltachat/appversions; the
    /// metadata service serves this file as one line of JSON, in the schema
    /// the Python relay's tests check (`clients` only).
    @Test func appVersionsAreInstalledBesideTheIni() throws {
        let m = try Chatmaild().manifest(try componentContext())
        let text = try #require(m.text("/usr/local/lib/chatmaild/appversions.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(Array(json.keys) == ["clients"])
        let clients = try #require(json["clients"] as? [[String: Any]])
        #expect(!clients.isEmpty)
        for client in clients {
            #expect(client["clientId"] is String)
            let sources = try #require(client["sources"] as? [[String: Any]])
            for source in sources {
                #expect(source["sourceId"] is String && source["versionString"] is String)
                #expect(!(source["versionInteger"] is Bool))
                let version = try #require(source["versionInteger"] as? Int)
                #expect(version >= 0 && version < 1 << 32)
                let url = try #require(source["downloadUrl"] as? String)
                #expect(url.hasPrefix("https://github.com/deltachat/") || url.hasPrefix("https://download.delta.chat/"))
            }
        }
    }

    @Test func unitsRunTheBinaryWithTheSocketsOfThePythonRelay() throws {
        let m = try Chatmaild().manifest(try componentContext())
        let ini = "/usr/local/lib/chatmaild/chatmail.ini"
        let expected = [
            "doveauth.service": "ExecStart=/usr/local/bin/chatmaild doveauth /run/doveauth/doveauth.socket \(ini)",
            "chatmail-metadata.service": "ExecStart=/usr/local/bin/chatmaild metadata /run/chatmail-metadata/metadata.socket \(ini)",
            "lastlogin.service": "ExecStart=/usr/local/bin/chatmaild lastlogin /run/chatmail-lastlogin/lastlogin.socket \(ini)",
            "chatmail-expire.service": "ExecStart=/usr/local/bin/chatmaild expire \(ini) -v --remove",
            "chatmail-fsreport.service": "ExecStart=/usr/local/bin/chatmaild fsreport \(ini)",
        ]
        for (unit, line) in expected {
            let text = try #require(m.text(unitDir + unit), "\(unit)")
            #expect(text.split(separator: "\n").contains(Substring(line)), "\(unit)")
            #expect(text.contains("User=vmail\n"), "\(unit)")
        }
        #expect(m.text(unitDir + "doveauth.service")?.contains("UMask=0077\n") == true)
        // Socket activation: systemd holds each socket, only vmail may connect,
        // and no service removes its socket's directory when it stops.
        for (daemon, path) in Chatmaild.sockets {
            let socket = try #require(m.text(unitDir + daemon + ".socket"), "\(daemon)")
            let lines = socket.split(separator: "\n")
            for line in ["ListenStream=\(path)", "SocketUser=vmail", "SocketMode=0600", "WantedBy=sockets.target"] {
                #expect(lines.contains(Substring(line)), "\(daemon).socket: \(line)")
            }
            #expect(m.text(unitDir + daemon + ".service")?.contains("RuntimeDirectory") == false)
            #expect(m.text(unitDir + daemon + ".service")?.contains(" \(path) ") == true)
        }
        // The sandbox gives every service a private umask, lastlogin too
        // (it only changes mtimes; the Python unit set none).
        #expect(m.text(unitDir + "lastlogin.service")?.contains("UMask=0077\n") == true)
        #expect(m.text(unitDir + "chatmail-expire.timer")?.contains("OnCalendar=*-*-* 00:02:00\n") == true)
        #expect(m.text(unitDir + "chatmail-expire.timer")?.contains("Persistent") == false)
        #expect(m.text(unitDir + "chatmail-fsreport.timer")?.contains("OnCalendar=*-*-* 08:02:00\nPersistent=true\n") == true)
    }

    @Test func restartRules() throws {
        let m = try Chatmaild().manifest(try componentContext())
        for daemon in ["doveauth", "chatmail-metadata", "lastlogin"] {
            let s = try #require(m.service(daemon + ".service"))
            #expect(s.enabled && s.running)
            let appVersions: Set<String> = daemon == "chatmail-metadata" ? ["/usr/local/lib/chatmaild/appversions.json"] : []
            #expect(Set(s.restartOn) == Set(["/usr/local/bin/chatmaild", "/usr/local/lib/chatmaild/chatmail.ini",
                                             unitDir + daemon + ".service", unitDir + daemon + ".socket"]).union(appVersions))
            let socket = try #require(m.service(daemon + ".socket"))
            #expect(socket.enabled && socket.running && socket.restartOn == [unitDir + daemon + ".socket"])
            // systemd refuses to start a socket whose service runs: the
            // service is stopped first when the socket unit changes.
            let stop = try #require(m.command("stop \(daemon).service for its new socket unit"))
            #expect(stop.onChangeOf == [unitDir + daemon + ".socket"] && stop.stage == .configure)
        }
        for job in ["chatmail-expire", "chatmail-fsreport"] {
            let timer = try #require(m.service(job + ".timer"))
            #expect(timer.enabled && timer.running)
            #expect(timer.restartOn == [unitDir + job + ".timer"])
            // The timer starts the job; the deploy must not stop a running one.
            #expect(m.service(job + ".service") == nil)
        }
        let legacy = try #require(m.command("stop and disable doveauth-dictproxy.service"))
        #expect(legacy.stage == .install)
    }

    @Test func missingBinaryIsAClearError() throws {
        var context = try componentContext()
        context.chatmaild = nil
        #expect(throws: DeployFailure.self) { try Chatmaild().manifest(context) }
        do { _ = try Chatmaild().manifest(context) } catch {
            #expect("\(error)".contains("--chatmaild-binary"))
        }
    }

    /// systemd itself parses the units (PID 1 need not be systemd for
    /// `systemd-analyze verify`). The binary is swapped for one that exists
    /// here; systemd then has nothing to complain about, not even a warning.
    @Test func systemdAcceptsTheUnits() throws {
        let dir = try scratchDir("units")
        let config = try componentContext().config
        for (name, text) in try Chatmaild.units(config) {
            try text.replacingOccurrences(of: Chatmaild.binaryPath, with: "/bin/true")
                .write(toFile: "\(dir)/\(name)", atomically: true, encoding: .utf8)
        }
        let names = try Chatmaild.units(config).map { "\(dir)/\($0.0)" }
        #expect(names.count == 10)
        let r = try runTool("/usr/bin/systemd-analyze", ["verify"] + names)
        #expect(r.status == 0, "\(r.output)")
        #expect(!r.output.contains(dir), "warnings: \(r.output)")
    }
}
