import ChatmailConfig
import Engine
import Remote

/// Prometheus metrics from the journal: mtail counts log lines by regex and
/// serves the counters on port 3903. Installed on every relay, running only
/// with `mtail_address`.
struct Mtail: Component {
    let name = "mtail"
    static let binaryPath = "/usr/local/bin/mtail"
    static let unitPath = "/etc/systemd/system/mtail.service"
    static let programPath = "/etc/mtail/delivered_mail.mtail"

    func manifest(_ context: DeployContext) throws -> Manifest {
        let config = context.config
        let download = try config.mtailDownload ?? Self.upstreamDownload(context)
        let unit = try Templates.render("mtail/mtail.service.mustache",
                                        ["address": config.mtailAddress ?? "127.0.0.1",
                                         "sandbox": try Sandbox.network.render()])
        let program = try Templates.text("mtail/delivered_mail.mtail")
        let on = config.mtailAddress != nil
        return Manifest {
            // Debian's mtail is older and would compete for the same unit name.
            Package("mtail", present: false)
            Download(download.url, sha256: download.sha256, to: Self.binaryPath, extract: "tar -xzO mtail")
            Directory("/etc/mtail")
            File(Self.programPath, text: program)
            File(Self.unitPath, text: unit)
            Service("mtail", enabled: on, running: on,
                    restartOn: [Self.binaryPath, Self.unitPath, Self.programPath])
        }
    }

    /// mtail 3.0.8 from google/mtail's releases, for the relay's architecture.
    static func upstreamDownload(_ context: DeployContext) throws -> PinnedDownload {
        guard let pin = UpstreamPins.mtail[context.architecture] else {
            throw DeployFailure("mtail has no upstream build for \(context.architecture); set mtail_download in chatmail.ini")
        }
        return pin
    }

    func listeners(_ context: DeployContext) -> [Listener] {
        context.config.mtailAddress == nil ? [] : [Listener(3903, process: "mtail", purpose: "mtail metrics")]
    }
}
