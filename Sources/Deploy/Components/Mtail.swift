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

    /// mtail 3.0.8 from google/mtail's releases. The sha256 is the one of
    /// the extracted binary, which is what the engine checks.
    static let upstream: [String: PinnedDownload] = [
        "x86_64": PinnedDownload(
            url: "https://github.com/google/mtail/releases/download/v3.0.8/mtail_3.0.8_linux_amd64.tar.gz",
            sha256: "d55cb601049c5e61eabab29998dbbcea95d480e5448544f9470337ba2eea882e"),
        "aarch64": PinnedDownload(
            url: "https://github.com/google/mtail/releases/download/v3.0.8/mtail_3.0.8_linux_arm64.tar.gz",
            sha256: "f748db8ad2a1e0b63684d4c8868cf6a373a20f7e6922e5ece601fff0ee00eb1a"),
    ]

    func manifest(_ context: DeployContext) throws -> Manifest {
        let config = context.config
        let download = try config.mtailDownload ?? Self.upstreamDownload(context)
        let unit = try Templates.render("mtail/mtail.service.mustache",
                                        ["address": config.mtailAddress ?? "127.0.0.1"])
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

    /// The relay's architecture is the one chatmaild was built for: the
    /// deploy refuses a chatmaild that does not match the host.
    static func upstreamDownload(_ context: DeployContext) throws -> PinnedDownload {
        let arch = context.chatmaild.flatMap { Deployment.elfArchitecture($0.content) } ?? "x86_64"
        guard let pin = upstream[arch] else {
            throw DeployFailure("mtail has no upstream build for \(arch); set mtail_download in chatmail.ini")
        }
        return pin
    }

    func listeners(_ context: DeployContext) -> [Listener] {
        context.config.mtailAddress == nil ? [] : [Listener(3903, process: "mtail", purpose: "mtail metrics")]
    }
}
