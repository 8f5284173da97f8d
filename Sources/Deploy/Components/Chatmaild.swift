import ChatmailConfig
import Foundation
import Engine

/// chatmaild, the relay's own services (doveauth, chatmail-metadata,
/// lastlogin, and the daily expire and fsreport timers): one static binary
/// instead of the Python virtualenv, the deploy's chatmail.ini beside it,
/// and the systemd units of the Python relay with the same sockets, users
/// and schedules, plus a .socket unit per dict service.
struct Chatmaild: Component {
    let name = "chatmaild"
    static let binaryPath = "/usr/local/bin/chatmaild"
    static let libDir = "/usr/local/lib/chatmaild"
    static let iniPath = HostLayout.iniPath
    /// Latest app releases, served as METADATA /shared/vendor/deltachat/appversions;
    /// chatmail-metadata reads it from beside the ini at start.
    static let appVersionsPath = libDir + "/appversions.json"

    /// Long-running dict proxies: restarted when the binary, the ini or
    /// their own unit changes.
    static let daemons = ["doveauth", "chatmail-metadata", "lastlogin"]
    /// Each daemon's socket, held by its .socket unit (socket activation)
    /// so that a restart makes Dovecot wait instead of fail.
    static let sockets = [
        "doveauth": "/run/doveauth/doveauth.socket",
        "chatmail-metadata": "/run/chatmail-metadata/metadata.socket",
        "lastlogin": "/run/chatmail-lastlogin/lastlogin.socket",
    ]
    /// Daily jobs: a oneshot .service started by its .timer. The .service
    /// has no [Install] section and is never started or stopped by the
    /// deploy (stopping it would cut a running expire short); each run
    /// starts the current binary anyway.
    static let jobs = ["chatmail-expire", "chatmail-fsreport"]

    func manifest(_ context: DeployContext) throws -> Manifest {
        guard let binary = context.chatmaild else {
            throw DeployFailure("no chatmaild binary to install: pass --chatmaild-binary with a Linux build of chatmaild")
        }
        let ini: [UInt8]
        do {
            ini = Array(try Data(contentsOf: URL(fileURLWithPath: context.config.path)))
        } catch {
            throw DeployFailure("cannot read \(context.config.path): \(error.localizedDescription)")
        }
        let units = try Self.units(context.config)
        let appVersions = try Templates.text("chatmaild/appversions.json")
        let unitPath = { (name: String) in "/etc/systemd/system/\(name)" }
        return Manifest {
            // The old dict proxy of seed-era relays; doveauth replaced it.
            retiredService("doveauth-dictproxy.service")
            File(Self.binaryPath, content: binary.content, mode: 0o755)
            Directory(Self.libDir)
            File(Self.iniPath, content: ini)
            File(Self.appVersionsPath, text: appVersions)
            // The Python relay's virtualenv and sdist; no unit uses them now.
            Absent(Self.libDir + "/venv")
            Absent(Self.libDir + "/dist")
            Absent("/etc/cron.d/chatmail-metrics")
            Absent("/var/www/html/metrics")
            for (name, text) in units {
                File(unitPath(name), text: text)
            }
            for daemon in Self.daemons {
                let socketUnit = unitPath(daemon + ".socket")
                // systemd refuses to start a socket whose service already
                // runs (the first deploy onto a relay from before socket
                // activation, or a changed .socket unit): stop the service
                // first; its restart below brings it back on the socket.
                GuardedCommand("stop \(daemon).service for its new socket unit",
                               "! systemctl is-active --quiet \(daemon).service || systemctl stop \(daemon).service",
                               onChangeOf: [socketUnit])
                Service(daemon + ".socket", restartOn: [socketUnit])
                let extra = daemon == "chatmail-metadata" ? [Self.appVersionsPath] : []
                Service(daemon, restartOn: [Self.binaryPath, Self.iniPath, unitPath(daemon + ".service"), socketUnit] + extra)
            }
            for job in Self.jobs {
                // A changed .service needs only the daemon-reload; the next run uses it.
                Service(job + ".timer", restartOn: [unitPath(job + ".timer")])
            }
        }
    }

    /// Unit file name → text, for every unit this component installs.
    static func units(_ config: ChatmailConfig) throws -> [(String, String)] {
        let sandboxes: [String: Sandbox] = [
            "doveauth": .mailboxWriter(config, extraReadable: [config.passdbPath]),
            "lastlogin": .mailboxWriter(config),
            "chatmail-expire": .mailboxWriter(config),
            "chatmail-metadata": .metadata(config),
            "chatmail-fsreport": .mailboxReader(config),
        ]
        var result: [(String, String)] = []
        for name in daemons + jobs {
            let values = ["binary": binaryPath, "ini": iniPath, "turnGroup": Turn.user,
                          "sandbox": try sandboxes[name]!.render()]
            result.append((name + ".service", try Templates.render("chatmaild/\(name).service.mustache", values)))
        }
        for daemon in daemons {
            result.append((daemon + ".socket", try Templates.render("chatmaild/dict.socket.mustache",
                                                                    ["service": daemon + ".service", "path": sockets[daemon]!])))
        }
        for job in jobs {
            result.append((job + ".timer", try Templates.text("chatmaild/\(job).timer")))
        }
        return result
    }
}
