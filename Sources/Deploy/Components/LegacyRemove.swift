import Engine
import Remote
/// Leftovers of older relay versions, removed as the Python deploy does:
/// rspamd, unbound-anchor, the OBS apt repository, the expunge cron job,
/// the on-disk journal and echobot.
struct LegacyRemove: Component {
    let name = "legacy-remove"

    /// The Delta Chat OBS repository that seed-era relays installed rspamd from.
    static let obsSourcesLine =
        "deb [signed-by=/etc/apt/keyrings/obs-home-deltachat.gpg] https://download.opensuse.org/repositories/home:/deltachat/Debian_12/ ./"

    func manifest(_ context: DeployContext) throws -> Manifest {
        let line = shellQuote(Self.obsSourcesLine)
        let list = "/etc/apt/sources.list"
        return Manifest {
            Package("rspamd", present: false)
            Package("unbound-anchor", present: false)
            Absent("/etc/cron.d/expunge")
            Absent("/etc/apt/keyrings/obs-home-deltachat.gpg")
            // LineInFile only adds lines; removing one is a guarded rewrite
            // that keeps the file's owner and mode (cat into it, no rename).
            GuardedCommand(
                "remove the OBS repository from \(list)",
                "{ grep -vxF -- \(line) \(list) || true; } >\(list).cmdeploy-new && cat \(list).cmdeploy-new >\(list) && rm -f \(list).cmdeploy-new",
                unless: "! grep -qxF -- \(line) \(list)",
                stage: .install)
            // Journald keeps logs in RAM only (Journald component).
            Absent("/var/log/journal")
            retiredService("echobot.service")
        }
    }
}
